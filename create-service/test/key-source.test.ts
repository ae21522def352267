import { createKeyPool } from '@shortwave/common/key-pool'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, skewedClient, type TestInfra } from '@shortwave/testing/infra'
import { loseAnswers } from '@shortwave/testing/lost-answers'
import type cassandra from 'cassandra-driver'
import type { FastifyBaseLogger } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createKeySource } from '../src/key-source.ts'
import { createMetrics } from '../src/metrics.ts'
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

function keySource (leaseAhead = 0) {
  return createKeySource({
    pool: createKeyPool(infra.redis, redisKeys(infra.prefix)),
    repo: createLinkRepository(infra.cassandra),
    metrics: createMetrics(new Registry()),
    log: silent,
    keyLength: 7,
    leaseAhead
  })
}

async function createMany (app: Awaited<ReturnType<typeof startApp>>, count: number, tag: string): Promise<string[]> {
  const keys: string[] = []
  for (let i = 0; i < count; i++) {
    const response = await createLink(app, { url: `https://example.com/${tag}/${i}` })
    expect(response.statusCode).toBe(201)
    keys.push(response.json().key as string)
  }
  return keys
}

describe('key source', () => {
  it('serves concurrent callers from one lease at a time', async () => {
    const seeded = await seedPool(infra, 50, 10)
    const source = keySource()
    const taken = await Promise.all(Array.from({ length: 9 }, () => source.take(draft())))
    expect(taken.every((t) => t.source === 'pool' && seeded.includes(t.link.key))).toBe(true)
    expect(new Set(taken.map((t) => t.link.key)).size).toBe(9)
    // One chunk of ten, leased once: a lease per waiting caller would have taken more.
    expect(await poolSize(infra)).toBe(40)
    expect(source.buffered).toBe(1)
    await source.close()
    // A leased key is this process's alone: it is not offered again.
    expect(await poolSize(infra)).toBe(40)
  })

  it('leases the next chunk before the last one runs out', async () => {
    await seedPool(infra, 30, 10)
    const source = keySource(5)
    for (let i = 0; i < 5; i++) await source.take(draft())
    await expect.poll(() => source.buffered).toBe(15)
    expect(await poolSize(infra)).toBe(10)
    await source.close()
  })

  it('claims a key itself when the pool is empty', async () => {
    const { link, source: from } = await keySource().take(draft())
    expect(from).toBe('bypass')
    expect(await createLinkRepository(infra.cassandra).find(link.key)).toMatchObject({ url: 'https://example.com/' })
  })
})

describe('keys Redis hands out again', () => {
  it('never reuses the key of a live link that reappears in the pool', async () => {
    await seedPool(infra, 10)
    const app = await startApp(infra, { KEY_LEASE_AHEAD: '0' })
    try {
      const [live] = await createMany(app, 1, 'live')
      // What a lagging replica or a hand-made SADD does: the used key comes back, alone.
      await infra.redis.del(redisKeys(infra.prefix).pool)
      await infra.redis.sadd(redisKeys(infra.prefix).pool, live!)
      const later = await createMany(app, 20, 'later')
      expect(later).not.toContain(live)
      expect(new Set(later).size).toBe(20)
      expect(await createLinkRepository(infra.cassandra).find(live!)).toMatchObject({ url: 'https://example.com/live/0' })
      expect(await metricValue(app, 'shortwave_key_leases_total', 'outcome="replayed"')).toBe(1)
      expect(await metricValue(app, 'shortwave_keys_skipped_total', '')).toBe(1)
    } finally {
      await app.close()
    }
  })

  it('skips a chunk no key-worker made, keys of several buckets and words that are no keys', async () => {
    const [live] = await seedPool(infra, 1)
    const app = await startApp(infra, { KEY_LEASE_AHEAD: '0' })
    try {
      expect((await createMany(app, 1, 'junk'))[0]).toBe(live)
      await infra.redis.sadd(redisKeys(infra.prefix).pool, `${live} Zz9aaaa Qq8bbbb`, 'not a chunk at all', '')
      const later = await createMany(app, 3, 'after-junk')
      expect(later).not.toContain(live)
      expect(await metricValue(app, 'shortwave_key_leases_total', 'outcome="replayed"')).toBe(3)
    } finally {
      await app.close()
    }
  })

  it('skips a whole chunk offered again after its keys were used', async () => {
    const first = await seedPool(infra, 10)
    const app = await startApp(infra, { KEY_LEASE_AHEAD: '0' })
    try {
      const used = await createMany(app, 10, 'first')
      expect([...used].sort()).toEqual([...first].sort())
      await createKeyPool(infra.redis, redisKeys(infra.prefix)).offer(first)
      const second = await seedPool(infra, 10)
      const later = await createMany(app, 10, 'second')
      expect(later.sort()).toEqual([...second].sort())
      const repo = createLinkRepository(infra.cassandra)
      for (const [i, key] of used.entries()) expect((await repo.find(key))?.url).toBe(`https://example.com/first/${i}`)
    } finally {
      await app.close()
    }
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

  it('answers 503 with Retry-After when every key it tries itself is taken', async () => {
    const repo = createLinkRepository(infra.cassandra)
    expect(await repo.insertIfAbsent({ ...draft(), key: 'always-taken' }, 'test')).toBe(true)
    // Every conditional insert lands on a key that exists: Cassandra answers "not applied" each time.
    const collide = new Proxy(infra.cassandra, {
      get (target, property) {
        if (property !== 'execute') return Reflect.get(target, property, target)
        return (cql: string, params: unknown[], options?: cassandra.QueryOptions) => {
          const onTaken = cql.includes('IF NOT EXISTS') ? ['alw', 'always-taken', ...params.slice(2)] : params
          return target.execute(cql, onTaken, options)
        }
      }
    })
    const app = await startApp(infra, { RETRY_AFTER_SECONDS: '3' }, { cassandra: collide })
    try {
      const response = await createLink(app, { url: 'https://example.com/no-free-key' })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('3')
      expect(response.json()).toMatchObject({ code: 'SW_NO_FREE_KEY' })
      expect((await repo.find('always-taken'))?.url).toBe('https://example.com/')
    } finally {
      await app.close()
    }
  })
})

describe('conditional writes whose answer is lost', () => {
  const ifNotExists = (cql: string) => cql.includes('IF NOT EXISTS')

  it('answers 201 for an alias whose insert landed, reading the row back', async () => {
    const lossy = loseAnswers(infra.cassandra, ifNotExists, 'after')
    const app = await startApp(infra, {}, { cassandra: lossy.client })
    try {
      const response = await createLink(app, { url: 'https://example.com/landed', alias: 'lost-answer-landed' })
      expect(response.statusCode).toBe(201)
      expect(lossy.lost).toHaveLength(1)
      expect((await createLinkRepository(infra.cassandra).find('lost-answer-landed'))?.url).toBe('https://example.com/landed')
    } finally {
      await app.close()
    }
  })

  it('answers 503 for an alias whose insert never ran, and stores nothing', async () => {
    const app = await startApp(infra, { RETRY_AFTER_SECONDS: '4' }, { cassandra: loseAnswers(infra.cassandra, ifNotExists, 'before').client })
    try {
      const response = await createLink(app, { url: 'https://example.com/never', alias: 'lost-answer-never' })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('4')
      expect(await createLinkRepository(infra.cassandra).find('lost-answer-never')).toBeNull()
    } finally {
      await app.close()
    }
  })

  it('uses the keys of a lease whose answer was lost, once', async () => {
    const seeded = await seedPool(infra, 10)
    const app = await startApp(infra, { KEY_LEASE_AHEAD: '0' }, { cassandra: loseAnswers(infra.cassandra, (cql) => cql.includes("'leased'"), 'after').client })
    try {
      const keys = await createMany(app, 10, 'lost-lease')
      expect(keys.sort()).toEqual([...seeded].sort())
    } finally {
      await app.close()
    }
  })
})

describe('with a clock an hour behind Cassandra', () => {
  it('serves every link it acknowledged', async () => {
    await seedPool(infra, 20)
    const behind = await skewedClient(infra, -3_600_000)
    const app = await startApp(infra, { KEY_LEASE_AHEAD: '0' }, { cassandra: behind })
    try {
      const keys = await createMany(app, 5, 'behind')
      const alias = await createLink(app, { url: 'https://example.com/behind/alias', alias: 'behind-alias' })
      expect(alias.statusCode).toBe(201)
      const repo = createLinkRepository(infra.cassandra)
      for (const [i, key] of keys.entries()) expect((await repo.find(key))?.url, key).toBe(`https://example.com/behind/${i}`)
      expect((await app.inject({ method: 'GET', url: `/api/v1/links/${keys[0]}` })).statusCode).toBe(200)
    } finally {
      await app.close()
      await behind.shutdown()
    }
  })
})
