import { loadConfig } from '@shortwave/common/config'
import { createLinkCache } from '@shortwave/common/link-cache'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { configSchema } from '../src/config.ts'
import { eventually, metricValue, storeLink, uniqueKey } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('rd_invalidate')
  // The longest local TTL the configuration allows: within it, only the message can evict.
  const config = loadConfig(configSchema, { ...infra.env, LOCAL_CACHE_TTL_MS: '5000', CLICK_FLUSH_INTERVAL_MS: '60000' })
  app = await buildApp(config, { cassandra: infra.cassandra, redis: infra.redis, logger: false })
  await app.ready()
  const channel = redisKeys(infra.prefix).linkInvalidations
  await eventually(async () => (await infra.redis.pubsub('NUMSUB', channel))[1], (subscribers) => Number(subscribers) >= 1, 5000)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

async function lookups (): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  return Object.fromEntries(['local', 'redis', 'cassandra'].map((source) => [source, metricValue(text, 'shortwave_link_lookups_total', { source })]))
}

describe('link invalidations', () => {
  it('drops a key from the local cache when create-service announces its deletion', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/hot')
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: `/${key}` })).statusCode).toBe(302)
    const warm = await lookups()

    // The link is deleted the way create-service does it: row, tombstone, message.
    const link = await createLinkRepository(infra.cassandra).find(key)
    await createLinkRepository(infra.cassandra).markDeleted(link!)
    const cache = createLinkCache(infra.redis, redisKeys(infra.prefix), { ttlSeconds: 60, negativeTtlSeconds: 10 })
    await cache.tombstone(key)
    await infra.redis.publish(redisKeys(infra.prefix).linkInvalidations, key)

    const received = await eventually(
      async () => metricValue((await app.inject({ method: 'GET', url: '/metrics' })).body, 'shortwave_link_invalidations_total'),
      (count) => count >= 1, 5000)
    expect(received).toBe(1)
    // Well inside the 5 s local TTL, the answer no longer comes from this process's memory.
    const response = await app.inject({ method: 'GET', url: `/${key}` })
    expect(response.statusCode).toBe(404)
    const after = await lookups()
    expect(after['local']).toBe(warm['local'])
    expect(after['redis']).toBe(warm['redis']! + 1)
  })

  it('ignores keys it does not hold', async () => {
    await infra.redis.publish(redisKeys(infra.prefix).linkInvalidations, 'never-cached')
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/untouched')
    expect((await app.inject({ method: 'GET', url: `/${key}` })).statusCode).toBe(302)
  })

  it('closes its own Redis connection with the app, and leaves the shared one open', async () => {
    const config = loadConfig(configSchema, { ...infra.env })
    const other = await buildApp(config, { cassandra: infra.cassandra, redis: infra.redis, logger: false })
    await other.ready()
    const channel = redisKeys(infra.prefix).linkInvalidations
    await eventually(async () => Number((await infra.redis.pubsub('NUMSUB', channel))[1]), (n) => n >= 2, 5000)
    await other.close()
    expect(await eventually(async () => Number((await infra.redis.pubsub('NUMSUB', channel))[1]), (n) => n === 1, 5000)).toBe(1)
    expect(await infra.redis.ping()).toBe('PONG')
  })
})
