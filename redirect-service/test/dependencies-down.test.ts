import { loadConfig } from '@shortwave/common/config'
import { createLinkCache } from '@shortwave/common/link-cache'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { configSchema } from '../src/config.ts'
import { eventually, metricValue, startTcpProxy, storeLink, uniqueKey, type TcpProxy } from './helpers.ts'

let infra: TestInfra
const cleanups: Array<() => Promise<void> | void> = []

beforeAll(async () => {
  infra = await createTestInfra('rd_deps_down')
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(async () => {
  await infra?.close()
})

function config (env: Record<string, string> = {}) {
  return loadConfig(configSchema, { ...infra.env, CLICK_FLUSH_INTERVAL_MS: '60000', ...env })
}

describe('with Redis down', () => {
  let redis: Redis
  let app: FastifyInstance

  beforeAll(async () => {
    // Nothing listens on port 1: every command fails at once, as when Redis is down.
    redis = createRedisClient({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: infra.prefix, REDIS_TIMEOUT_MS: 200 })
    app = await buildApp(config(), { cassandra: infra.cassandra, redis, logger: false })
  })

  afterAll(async () => {
    await app?.close()
    redis?.disconnect()
  })

  it('redirects stored links from Cassandra and answers 404 for unknown keys, never 5xx', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/redis-down')
    const res = await app.inject(`/${key}`)
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('https://example.com/redis-down')
    expect((await app.inject(`/${uniqueKey()}`)).statusCode).toBe(404)
  })

  it('stays ready, since Cassandra alone can serve', async () => {
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json().checks).toEqual({ cassandra: 'up', redis: 'down' })
  })

  it('keeps the clicks it cannot flush', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/clicks-kept')
    await app.inject(`/${key}`)
    const result = await app.clicks.flush()
    expect(result.failed).toBeGreaterThan(0)
    expect(app.clicks.bufferedFields).toBeGreaterThan(0)
    const text = (await app.inject('/metrics')).body
    expect(metricValue(text, 'shortwave_click_flush_errors_total')).toBeGreaterThanOrEqual(1)
  })
})

describe('with Cassandra down', () => {
  let proxy: TcpProxy
  let client: cassandra.Client
  let app: FastifyInstance

  beforeAll(async () => {
    // The app's Cassandra client goes through a proxy the test can cut, leaving the server up for others.
    const [host, port] = infra.cassandraConfig.CASSANDRA_CONTACT_POINTS.split(':')
    proxy = await startTcpProxy(Number(port), host)
    client = createCassandraClient({ ...infra.cassandraConfig, CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}`, CASSANDRA_TIMEOUT_MS: 1000 })
    await client.connect()
    app = await buildApp(config({ LOCAL_CACHE_TTL_MS: '100' }), { cassandra: client, redis: infra.redis, logger: false })
  })

  afterAll(async () => {
    await app?.close()
    await client?.shutdown()
    await proxy?.stop()
  })

  it('keeps redirecting links cached in Redis, answers 503 with Retry-After for the rest, and stays ready', async () => {
    const cached = uniqueKey()
    const uncached = uniqueKey()
    await storeLink(infra.cassandra, cached, 'https://example.com/cached')
    await storeLink(infra.cassandra, uncached, 'https://example.com/uncached')
    const links = createLinkCache(infra.redis, redisKeys(infra.prefix), { ttlSeconds: 60, negativeTtlSeconds: 10 })
    expect((await app.inject(`/${cached}`)).statusCode).toBe(302)
    // The redirect filled Redis without waiting; wait for it before cutting Cassandra.
    expect((await eventually(() => links.get(cached), (l) => l.kind === 'hit', 5000)).kind).toBe('hit')

    await proxy.stop()
    await new Promise((resolve) => setTimeout(resolve, 150)) // let the 100 ms local entry lapse

    const before = metricValue((await app.inject('/metrics')).body, 'shortwave_link_lookups_total', { source: 'redis' })
    const res = await app.inject(`/${cached}`)
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('https://example.com/cached')
    expect(metricValue((await app.inject('/metrics')).body, 'shortwave_link_lookups_total', { source: 'redis' })).toBe(before + 1)

    const down = await app.inject(`/${uncached}`)
    expect(down.statusCode).toBe(503)
    expect(down.headers['retry-after']).toBeDefined()
    expect(down.json()).toMatchObject({ statusCode: 503, code: 'SW_DEPENDENCY_UNAVAILABLE' })

    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json().checks).toEqual({ cassandra: 'down', redis: 'up' })
  })
})
