import { bucketOf, KEY_ALPHABET } from '@shortwave/common/keys'
import { createLinkRepository, type LinkRepository } from '@shortwave/common/link-repository'
import { redisKeys, type RedisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import { customAlphabet } from 'nanoid'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { refillPool } from '../src/pool-refiller.ts'
import { createKeyGenerator } from '@shortwave/common/keys'
import { linkRows } from './helpers.ts'

describe('pool refill', () => {
  let infra: TestInfra
  let repo: LinkRepository
  let keys: RedisKeys

  beforeAll(async () => {
    infra = await createTestInfra('kw_refill')
    repo = createLinkRepository(infra.cassandra)
    keys = redisKeys(infra.prefix)
  })
  afterAll(async () => { await infra?.close() })
  beforeEach(async () => { await infra.redis.del(keys.pool) })

  it('fills the pool to the high-water mark with keys claimed in Cassandra by this worker', async () => {
    const settings = { workerId: 'refill-a', highWater: 1500, batchSize: 100, concurrency: 4 }
    const outcome = await refillPool({ redis: infra.redis, keys, repo, generator: createKeyGenerator(7) }, settings)

    const pooled = await infra.redis.smembers(keys.pool)
    expect(pooled.length).toBeGreaterThanOrEqual(1500)
    expect(outcome.depth).toBe(pooled.length)
    expect(outcome.pooled).toBe(pooled.length)
    const shape = new RegExp(`^[${KEY_ALPHABET}]{7}$`)
    const rows = await linkRows(infra)
    for (const key of pooled) {
      expect(key).toMatch(shape)
      expect(rows.get(key)).toEqual({ key, state: 'pooled', claimedBy: 'refill-a' })
    }
  })

  it('claims nothing when the pool is already at the high-water mark', async () => {
    await infra.redis.sadd(keys.pool, ...Array.from({ length: 20 }, (_, i) => `filler${i}`))
    const outcome = await refillPool({ redis: infra.redis, keys, repo, generator: createKeyGenerator(7) }, {
      workerId: 'refill-b', highWater: 20, batchSize: 10, concurrency: 2
    })
    expect(outcome).toEqual({ depth: 20, pooled: 0, conflicts: 0, batches: 0 })
  })

  it('reports a generated key equal to an existing alias as a conflict and never pools it', async () => {
    const alias = 'Kw9abcd'
    const taken = await repo.insertIfAbsent({ key: alias, url: 'https://example.com/alias', createdAt: new Date(), expiresAt: null, owner: null }, 'create-service')
    expect(taken).toBe(true)
    const suffix = customAlphabet(KEY_ALPHABET, 4)
    let calls = 0
    // The first batch carries the alias among fresh keys of its bucket.
    const generator = {
      batch (count: number): string[] {
        const batch = new Set<string>(calls++ === 0 ? [alias] : [])
        while (batch.size < count) batch.add(bucketOf(alias) + suffix())
        return [...batch]
      }
    }
    const outcome = await refillPool({ redis: infra.redis, keys, repo, generator }, { workerId: 'refill-c', highWater: 40, batchSize: 20, concurrency: 1 })

    expect(outcome.conflicts).toBe(1)
    expect(await infra.redis.sismember(keys.pool, alias)).toBe(0)
    expect(await infra.redis.scard(keys.pool)).toBe(40)
    const rows = await linkRows(infra)
    expect(rows.get(alias)).toEqual({ key: alias, state: 'active', claimedBy: 'create-service' })
    expect(await repo.find(alias)).toMatchObject({ url: 'https://example.com/alias' })
    for (const key of await infra.redis.smembers(keys.pool)) expect(rows.get(key)?.claimedBy).toBe('refill-c')
  })

  it('ends the pass without claiming when every generated key is taken', async () => {
    const existing = ['Kw8aaaa', 'Kw8aaab']
    const generator = { batch: () => existing }
    await refillPool({ redis: infra.redis, keys, repo, generator }, { workerId: 'refill-d', highWater: 10, batchSize: 2, concurrency: 1 })
    await infra.redis.del(keys.pool)

    const outcome = await refillPool({ redis: infra.redis, keys, repo, generator }, { workerId: 'refill-e', highWater: 10, batchSize: 2, concurrency: 2 })
    expect(outcome.pooled).toBe(0)
    expect(outcome.conflicts).toBeGreaterThanOrEqual(2)
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })

  it('starts no new batch once the signal is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const outcome = await refillPool({ redis: infra.redis, keys, repo, generator: createKeyGenerator(7) }, {
      workerId: 'refill-f', highWater: 100, batchSize: 10, concurrency: 2
    }, controller.signal)
    expect(outcome.batches).toBe(0)
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })

  it('fails the pass when Cassandra refuses the claim, pooling nothing', async () => {
    const failing: Pick<LinkRepository, 'claimBatch'> = { claimBatch: async () => { throw new Error('cassandra down') } }
    await expect(refillPool({ redis: infra.redis, keys, repo: failing, generator: createKeyGenerator(7) }, {
      workerId: 'refill-g', highWater: 100, batchSize: 10, concurrency: 3
    })).rejects.toThrow('cassandra down')
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })
})
