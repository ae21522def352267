import { createLinkCache } from '@shortwave/common/link-cache'
import { createLinkRepository, type LinkRepository } from '@shortwave/common/link-repository'
import { NO_RULES } from '@shortwave/common/link-rules'
import { errorBody } from '@shortwave/common/plugins/error-handler'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import cassandra from 'cassandra-driver'
import type { FastifyError } from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkResolver, type LinkResolverOptions } from '../src/link-resolver.ts'
import { eventually, storeLink, uniqueKey } from './helpers.ts'

let infra: TestInfra
let unreachable: Redis

beforeAll(async () => {
  infra = await createTestInfra('rd_resolver')
  unreachable = createRedisClient({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: '', REDIS_TIMEOUT_MS: 200 })
  unreachable.on('error', () => {})
})

afterAll(async () => {
  unreachable?.disconnect()
  await infra?.close()
})

const keys = () => redisKeys(infra.prefix)
const cacheOn = (redis: Redis) => createLinkCache(redis, keys(), { ttlSeconds: 60, negativeTtlSeconds: 60 })

function resolver (overrides: Partial<LinkResolverOptions> = {}) {
  return createLinkResolver({
    cache: cacheOn(infra.redis),
    repository: createLinkRepository(infra.cassandra),
    localMax: 1000,
    localTtlMs: 60_000,
    localNegativeTtlMs: 60_000,
    ...overrides
  })
}

/** The real repository, counting its reads. */
function countingRepository (): { repository: Pick<LinkRepository, 'findScoped'>, reads: () => number } {
  const real = createLinkRepository(infra.cassandra)
  let reads = 0
  return { repository: { findScoped: (key) => { reads++; return real.findScoped(key) } }, reads: () => reads }
}

describe('link resolver', () => {
  it('shares one Cassandra read among concurrent misses for a key', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/shared')
    const { repository, reads } = countingRepository()
    const links = resolver({ repository })
    const results = await Promise.all(Array.from({ length: 20 }, () => links.resolve(key)))
    expect(reads()).toBe(1)
    expect(new Set(results.map((r) => r?.url))).toEqual(new Set(['https://example.com/shared']))
  })

  it('serves a link cached in Redis without reading Cassandra, then from its own memory', async () => {
    const key = uniqueKey()
    await cacheOn(infra.redis).set({ key, url: 'https://example.com/from-redis', expiresAt: null })
    const { repository, reads } = countingRepository()
    const links = resolver({ repository })
    expect((await links.resolve(key))?.url).toBe('https://example.com/from-redis')
    expect((await links.resolve(key))?.url).toBe('https://example.com/from-redis')
    expect(reads()).toBe(0)
    expect(links.stats).toMatchObject({ local: 1, redis: 1, cassandra: 0 })
  })

  it('computes the ASCII Location once per resolved link, from Redis or from Cassandra', async () => {
    const [inRedis, inCassandra] = [uniqueKey(), uniqueKey()]
    await cacheOn(infra.redis).set({ key: inRedis, url: 'https://例え.jp/redis?q=ü', expiresAt: null })
    await storeLink(infra.cassandra, inCassandra, 'https://例え.jp/パス')
    const links = resolver()
    for (const [key, location] of [[inRedis, 'https://xn--r8jz45g.jp/redis?q=%C3%BC'], [inCassandra, 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9']] as const) {
      const resolved = await links.resolve(key)
      expect(resolved?.location).toBe(location)
      // A redirect served from memory reuses the link as resolved: nothing is serialised per request.
      expect(links.cached(key)).toBe(resolved)
    }
  })

  it('fills Redis after reading Cassandra, for links and for misses', async () => {
    const key = uniqueKey()
    const unknown = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/filled')
    const links = resolver()
    await links.resolve(key)
    await links.resolve(unknown)
    const raw = await eventually(() => infra.redis.get(keys().link(key)), (v) => v !== null, 5000)
    expect(JSON.parse(raw!)).toEqual({ u: 'https://example.com/filled', e: null })
    expect(await eventually(() => infra.redis.get(keys().link(unknown)), (v) => v !== null, 5000)).toBe('!')
  })

  it('drops a locally cached link when it expires, however long the local TTL', async () => {
    const key = uniqueKey()
    const expiresAt = Date.now() + 500
    await storeLink(infra.cassandra, key, 'https://example.com/brief', new Date(expiresAt))
    const links = resolver({ localTtlMs: 60_000 })
    expect((await links.resolve(key))?.url).toBe('https://example.com/brief')
    expect(links.cached(key)?.url).toBe('https://example.com/brief')
    expect(await eventually(async () => links.cached(key), (v) => v === undefined, 10_000)).toBeUndefined()
    // Found again, but only as gone: its rules are set, so the redirect judges it (410) rather than following it.
    expect((await links.resolve(key))?.rules).toEqual(NO_RULES)
  })

  it('neither remembers nor shares a lookup that was under way when its key was evicted', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/before-edit')
    const real = createLinkRepository(infra.cassandra)
    let readDone!: () => void
    let release!: () => void
    const read = new Promise<void>((resolve) => { readDone = resolve })
    const gate = new Promise<void>((resolve) => { release = resolve })
    let reads = 0
    const links = resolver({
      repository: {
        async findScoped (k) {
          const link = await real.findScoped(k)
          if (++reads === 1) {
            readDone()
            await gate
          }
          return link
        }
      }
    })

    const first = links.resolve(key)
    await read
    // The link is edited as create-service does it (row, cache entry), and the message arrives
    // while the first lookup still holds the row it read before.
    const link = (await real.find(key))!
    expect(await real.applyEdit(link, { url: 'https://example.com/after-edit' }, new Date())).toBe(true)
    await cacheOn(infra.redis).replace({ ...link, url: 'https://example.com/after-edit', version: 1 })
    links.evict(key)

    // A request now starts its own lookup rather than waiting for the old one…
    expect((await links.resolve(key))?.url).toBe('https://example.com/after-edit')
    release()
    // …and the old one answers its own callers with what it read, without remembering it.
    expect((await first)?.url).toBe('https://example.com/before-edit')
    expect(links.cached(key)?.url).toBe('https://example.com/after-edit')
    expect((await links.resolve(key))?.url).toBe('https://example.com/after-edit')
  })

  it('returns an expired link that Redis still holds only as gone, never as one to follow', async () => {
    const key = uniqueKey()
    // As if another replica's clock ran behind: the entry outlived the link.
    const entry = JSON.stringify({ u: 'https://example.com/stale', e: Date.now() - 1000 })
    await infra.redis.set(keys().link(key), entry, 'EX', 60)
    expect((await resolver().resolve(key))?.rules).toEqual(NO_RULES)
  })

  it('reads Cassandra when Redis fails, and counts the cache error', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/no-redis')
    const links = resolver({ cache: cacheOn(unreachable) })
    expect((await links.resolve(key))?.url).toBe('https://example.com/no-redis')
    expect(links.stats.cassandra).toBe(1)
    expect(links.stats.cacheErrors).toBeGreaterThanOrEqual(1)
  })

  it('times each read of Redis and of Cassandra, failed ones too, and none for a local hit', async () => {
    const reads: Array<[string, number]> = []
    const onRead = (store: string, seconds: number): void => { reads.push([store, seconds]) }
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/timed')
    const links = resolver({ onRead })
    await links.resolve(key) // Redis misses, Cassandra answers
    await links.resolve(key) // from memory
    expect(reads.map(([store]) => store)).toEqual(['redis', 'cassandra'])
    expect(reads.every(([, seconds]) => seconds > 0 && seconds < 60)).toBe(true)

    const failing = resolver({ cache: cacheOn(unreachable), onRead })
    reads.length = 0
    await failing.resolve(key)
    expect(reads.map(([store]) => store)).toEqual(['redis', 'cassandra'])
  })

  it('asks Redis once more when it failed and Cassandra cannot answer, and serves the link it holds', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/slow-redis')
    await resolver().resolve(key) // fills Redis
    const cache = cacheOn(infra.redis)
    let gets = 0
    const slowOnce: typeof cache = {
      ...cache,
      get: async (k) => { if (++gets === 1) throw new Error('Command timed out'); return cache.get(k) }
    }
    const links = resolver({
      cache: slowOnce,
      repository: { findScoped: async () => { throw new cassandra.errors.NoHostAvailableError({}) } }
    })
    expect((await links.resolve(key))?.url).toBe('https://example.com/slow-redis')
    expect(gets).toBe(2)
    expect(links.stats).toMatchObject({ redis: 1, cacheErrors: 1 })
  })

  it('answers 503 when Redis fails and Cassandra cannot answer', async () => {
    const links = resolver({
      cache: cacheOn(unreachable),
      repository: { findScoped: async () => { throw new cassandra.errors.NoHostAvailableError({}) } }
    })
    // The driver's error goes through as is; the error handler is what answers it.
    const failure = await links.resolve(uniqueKey()).then(() => null, (error: unknown) => error)
    expect(errorBody(failure as FastifyError)).toMatchObject({ statusCode: 503, code: 'SW_DEPENDENCY_UNAVAILABLE' })
  })
})
