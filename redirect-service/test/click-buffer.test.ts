import { connectRedis, createRedisClient } from '@shortwave/common/plugins/redis'
import { clickField } from '@shortwave/common/redis-keys'
import { createTestInfra, TEST_REDIS_URL, type TestInfra } from '@shortwave/testing/infra'
import type { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickBuffer } from '../src/click-buffer.ts'
import { eventually } from './helpers.ts'

let infra: TestInfra
// A real client for a port where nothing listens: its commands fail the way they do when Redis is down.
let unreachable: Redis
let hashes = 0

beforeAll(async () => {
  infra = await createTestInfra('rd_clicks')
  unreachable = createRedisClient({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: '', REDIS_TIMEOUT_MS: 200 })
  unreachable.on('error', () => {})
})

afterAll(async () => {
  unreachable?.disconnect()
  await infra?.close()
})

const newHash = (): string => `${infra.prefix}clicks:${++hashes}`
const newSeqKey = (): string => `${infra.prefix}clicks:flushed:${hashes}`

/** A Redis whose pipelines go to the unreachable client until `up` is set. */
function switchable (): { redis: Redis, up: boolean } {
  const state = {
    up: false,
    redis: { pipeline: () => (state.up ? infra.redis : unreachable).pipeline() } as unknown as Redis
  }
  return state
}

describe('click buffer', () => {
  it('adds the buffered counts per UTC day, key and audience in one flush', async () => {
    const hashKey = newHash()
    let now = Date.UTC(2025, 0, 31, 23, 59, 59, 500)
    const buffer = createClickBuffer({
      redis: infra.redis, hashKey, seqKey: newSeqKey(), maxFields: 100, now: () => now
    })
    buffer.record('abc1234', false)
    buffer.record('abc1234', false)
    buffer.record('abc1234', true)
    now += 1000 // past midnight: a new day
    buffer.record('abc1234', false)
    buffer.record('xyz9876', false)
    expect(buffer.bufferedFields).toBe(4)

    const result = await buffer.flush()
    expect(result).toEqual({ flushed: 5, failed: 0 })
    expect(buffer.bufferedFields).toBe(0)
    expect(await infra.redis.hgetall(hashKey)).toEqual({
      [clickField('2025-01-31', 'abc1234', false)]: '2',
      [clickField('2025-01-31', 'abc1234', true)]: '1',
      [clickField('2025-02-01', 'abc1234', false)]: '1',
      [clickField('2025-02-01', 'xyz9876', false)]: '1'
    })
    expect(buffer.stats).toMatchObject({ recorded: 5, flushed: 5, flushErrors: 0, dropped: 0 })
  })

  it('adds every field of a flush that spans several Redis commands', async () => {
    const hashKey = newHash()
    const buffer = createClickBuffer({
      redis: infra.redis, hashKey, seqKey: newSeqKey(), maxFields: 10_000, now: () => Date.UTC(2025, 6, 1)
    })
    for (let i = 0; i < 1234; i++) {
      buffer.record(`many${i}`, false)
      if (i % 3 === 0) buffer.record(`many${i}`, true)
    }
    expect(await buffer.flush()).toEqual({ flushed: 1234 + 412, failed: 0 })
    expect(await infra.redis.hlen(hashKey)).toBe(1234 + 412)
    expect(await infra.redis.hget(hashKey, clickField('2025-07-01', 'many1233', false))).toBe('1')
    expect(await infra.redis.hget(hashKey, clickField('2025-07-01', 'many1233', true))).toBe('1')
  })

  it('keeps the counts when Redis fails and adds them on a later flush', async () => {
    const hashKey = newHash()
    const target = switchable()
    const buffer = createClickBuffer({
      redis: target.redis, hashKey, seqKey: newSeqKey(), maxFields: 100, now: () => Date.UTC(2025, 5, 1)
    })
    buffer.record('abc1234', false)
    buffer.record('abc1234', false)

    const failed = await buffer.flush()
    expect(failed.failed).toBe(1)
    expect(failed.error).toBeInstanceOf(Error)
    expect(buffer.bufferedFields).toBe(1)

    buffer.record('abc1234', false)
    target.up = true
    expect(await buffer.flush()).toEqual({ flushed: 3, failed: 0 })
    expect(await infra.redis.hget(hashKey, clickField('2025-06-01', 'abc1234', false))).toBe('3')
    expect(buffer.stats).toMatchObject({ recorded: 3, flushed: 3, flushErrors: 1, dropped: 0 })
  })

  it('starts a flush early when the buffer reaches its field limit', async () => {
    const hashKey = newHash()
    const buffer = createClickBuffer({ redis: infra.redis, hashKey, seqKey: newSeqKey(), maxFields: 3 })
    for (const key of ['aaa1', 'bbb2', 'ccc3']) buffer.record(key, false)
    expect(buffer.bufferedFields).toBe(3)
    buffer.record('ddd4', false)
    expect(buffer.bufferedFields).toBe(1)
    expect(await eventually(() => infra.redis.hlen(hashKey), (n) => n === 3, 5000)).toBe(3)
  })

  it('drops clicks for new fields instead of growing without bound while Redis fails, never those it sent', async () => {
    const target = switchable()
    const hashKey = newHash()
    const buffer = createClickBuffer({
      redis: target.redis, hashKey, seqKey: newSeqKey(), maxFields: 2, now: () => Date.UTC(2025, 5, 1)
    })
    buffer.record('aaa1', false)
    buffer.record('bbb2', false)
    buffer.record('ccc3', false) // full: starts a flush, which will fail
    buffer.record('ddd4', false)
    buffer.record('eee5', false) // full, flush still in flight: dropped
    buffer.record('ccc3', false) // a field already held still counts
    const result = await buffer.drain()
    expect(result.failed).toBeGreaterThan(0)
    // The chunk that failed (aaa1, bbb2) is held apart until Redis confirms it; ccc3 and ddd4 wait.
    expect(buffer.stats).toMatchObject({ recorded: 6, flushed: 0, dropped: 1 })
    expect(buffer.bufferedFields).toBe(4)

    target.up = true
    expect(await buffer.flush()).toEqual({ flushed: 5, failed: 0 })
    expect(await infra.redis.hgetall(hashKey)).toEqual({
      [clickField('2025-06-01', 'aaa1', false)]: '1',
      [clickField('2025-06-01', 'bbb2', false)]: '1',
      [clickField('2025-06-01', 'ccc3', false)]: '2',
      [clickField('2025-06-01', 'ddd4', false)]: '1'
    })
  })

  it('adds a chunk once when its reply is lost: Redis ran it after the client gave up', async () => {
    const hashKey = newHash()
    const seqKey = newSeqKey()
    // The replica's view: a client that gives up after 50 ms. Redis is busy for 300 ms with a script
    // on another connection, so the chunk waits in Redis and runs after the client timed out,
    // as when a replica's event loop stalls past REDIS_TIMEOUT_MS.
    const impatient = createRedisClient({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: '', REDIS_TIMEOUT_MS: 50 })
    try {
      expect(await connectRedis(impatient, 5000)).toBe(true)
      const buffer = createClickBuffer({
        redis: impatient, hashKey, seqKey, maxFields: 100, now: () => Date.UTC(2025, 5, 2)
      })
      for (let i = 0; i < 3; i++) buffer.record('abc1234', false)
      buffer.record('xyz9876', true)

      const busy = infra.redis.eval(BUSY, 0, 300_000)
      await sleep(20) // the script has started
      const lost = await buffer.flush()
      expect(String(lost.error)).toMatch(/timed out/i)
      await busy
      // Redis ran the chunk after all: the counts are there, once.
      const field = clickField('2025-06-02', 'abc1234', false)
      expect(await eventually(() => infra.redis.hget(hashKey, field), (v) => v === '3', 5000)).toBe('3')

      buffer.record('abc1234', false)
      // The chunk is sent again under its number and skipped; the new click goes in a chunk of its own.
      expect(await buffer.flush()).toEqual({ flushed: 5, failed: 0 })
      expect(await infra.redis.hgetall(hashKey)).toEqual({
        [field]: '4',
        [clickField('2025-06-02', 'xyz9876', true)]: '1'
      })
      expect(buffer.stats).toMatchObject({ recorded: 5, flushed: 5, flushErrors: 1, dropped: 0 })

      expect(await buffer.forgetSequence()).toBe(true)
      expect(await infra.redis.exists(seqKey)).toBe(0)
    } finally {
      impatient.disconnect()
    }
  })

  it('keeps the sequence key while a chunk is unconfirmed', async () => {
    const target = switchable()
    const seqKey = newSeqKey()
    const buffer = createClickBuffer({ redis: target.redis, hashKey: newHash(), seqKey, maxFields: 10 })
    buffer.record('aaa1', false)
    expect((await buffer.drain()).failed).toBe(1)
    expect(await buffer.forgetSequence()).toBe(false)
  })
})

// Keeps Redis busy for ARGV[1] microseconds: commands from other connections wait behind it.
const BUSY = `
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1])
return 1`
