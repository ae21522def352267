import { createRedisClient } from '@shortwave/common/plugins/redis'
import { clickField } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import type { Redis } from 'ioredis'
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
    const buffer = createClickBuffer({ redis: infra.redis, hashKey, maxFields: 100, now: () => now })
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
    const buffer = createClickBuffer({ redis: infra.redis, hashKey, maxFields: 10_000, now: () => Date.UTC(2025, 6, 1) })
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
    const buffer = createClickBuffer({ redis: target.redis, hashKey, maxFields: 100, now: () => Date.UTC(2025, 5, 1) })
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
    const buffer = createClickBuffer({ redis: infra.redis, hashKey, maxFields: 3 })
    for (const key of ['aaa1', 'bbb2', 'ccc3']) buffer.record(key, false)
    expect(buffer.bufferedFields).toBe(3)
    buffer.record('ddd4', false)
    expect(buffer.bufferedFields).toBe(1)
    expect(await eventually(() => infra.redis.hlen(hashKey), (n) => n === 3, 5000)).toBe(3)
  })

  it('drops clicks for new fields instead of growing without bound while Redis fails', async () => {
    const target = switchable()
    const buffer = createClickBuffer({ redis: target.redis, hashKey: newHash(), maxFields: 2 })
    buffer.record('aaa1', false)
    buffer.record('bbb2', false)
    buffer.record('ccc3', false) // full: starts a flush, which will fail
    buffer.record('ddd4', false)
    buffer.record('eee5', false) // full, flush still in flight: dropped
    buffer.record('ccc3', false) // a field already held still counts
    const result = await buffer.drain()
    expect(result.failed).toBeGreaterThan(0)
    // The failed batch (aaa1, bbb2) finds the buffer full again and is dropped too.
    expect(buffer.stats).toMatchObject({ recorded: 6, flushed: 0, dropped: 3 })
    expect(buffer.bufferedFields).toBe(2)
  })
})
