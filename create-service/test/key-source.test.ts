import { createLinkRepository } from '@shortwave/common/link-repository'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import type { FastifyBaseLogger } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createKeySource } from '../src/key-source.ts'
import { createLink, metricValue, poolSize, seedPool, startApp } from './helpers.ts'

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('cs_keys')
})

afterAll(async () => {
  await infra?.close()
})

beforeEach(async () => {
  await infra.redis.del(redisKeys(infra.prefix).pool)
})

const silent = { warn () {}, info () {} } as unknown as FastifyBaseLogger
const draft = () => ({ url: 'https://example.com/', createdAt: new Date(), expiresAt: null, owner: null })

function keySource (batchSize: number) {
  return createKeySource({
    redis: infra.redis,
    keys: redisKeys(infra.prefix),
    repo: createLinkRepository(infra.cassandra),
    registry: new Registry(),
    log: silent,
    batchSize,
    keyLength: 7
  })
}

describe('key source', () => {
  it('serves concurrent callers from one refill at a time', async () => {
    const seeded = new Set(await seedPool(infra, 50))
    const source = keySource(4)
    const taken = await Promise.all(Array.from({ length: 10 }, () => source.take(draft())))
    expect(taken.every((t) => t.source === 'pool' && seeded.has(t.link.key))).toBe(true)
    expect(new Set(taken.map((t) => t.link.key)).size).toBe(10)
    // Three batches of four: a fourth refill, or one per waiting caller, would have taken more.
    expect(await poolSize(infra)).toBe(38)
    expect(source.buffered).toBe(2)
    await source.close()
    expect(await poolSize(infra)).toBe(40)
  })

  it('claims a key itself when the pool is empty', async () => {
    const source = keySource(4)
    const { link, source: from } = await source.take(draft())
    expect(from).toBe('bypass')
    expect(await createLinkRepository(infra.cassandra).find(link.key)).toMatchObject({ url: 'https://example.com/' })
  })
})

describe('creating links without the pool', () => {
  it('still creates links, each under its own key, when the pool is empty', async () => {
    const app = await startApp(infra)
    try {
      const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => createLink(app, { url: `https://example.com/empty/${i}` })))
      expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(201))
      const keys = responses.map((r) => r.json().key as string)
      expect(new Set(keys).size).toBe(8)
      const repo = createLinkRepository(infra.cassandra)
      for (const [i, key] of keys.entries()) expect((await repo.find(key))?.url).toBe(`https://example.com/empty/${i}`)
      expect(await metricValue(app, 'shortwave_key_bypass_total', 'reason="pool_empty"')).toBe(8)
      expect(await metricValue(app, 'shortwave_keys_taken_total', 'source="bypass"')).toBe(8)
    } finally {
      await app.close()
    }
  })

  it('still creates links, unrate-limited, when Redis is unreachable', async () => {
    const deadRedis = createRedisClient({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: infra.prefix, REDIS_TIMEOUT_MS: 200 })
    const app = await startApp(infra, { RATE_LIMIT_MAX: '2' }, { redis: deadRedis })
    try {
      const responses = []
      for (let i = 0; i < 5; i++) responses.push(await createLink(app, { url: `https://example.com/no-redis/${i}` }))
      expect(responses.map((r) => r.statusCode)).toEqual(Array(5).fill(201))
      const keys = responses.map((r) => r.json().key as string)
      expect(new Set(keys).size).toBe(5)
      const repo = createLinkRepository(infra.cassandra)
      for (const key of keys) expect(await repo.find(key)).not.toBeNull()
      expect(await metricValue(app, 'shortwave_key_bypass_total', 'reason="redis_error"')).toBe(5)

      const ready = await app.inject({ method: 'GET', url: '/readyz' })
      expect(ready.statusCode).toBe(200)
      expect(ready.json()).toEqual({ status: 'ready', checks: { cassandra: 'up', redis: 'down' } })
    } finally {
      await app.close()
      deadRedis.disconnect()
    }
  })

  it('returns unused buffered keys to the pool when the app closes', async () => {
    await seedPool(infra, 20)
    const app = await startApp(infra, { POOL_FETCH_BATCH: '8' })
    expect((await createLink(app, { url: 'https://example.com/close' })).statusCode).toBe(201)
    expect(await poolSize(infra)).toBe(12)
    await app.close()
    expect(await poolSize(infra)).toBe(19)
  })
})
