import { bucketOf, KEY_ALPHABET } from '@shortwave/common/keys'
import { createLinkRepository, type LinkRepository } from '@shortwave/common/link-repository'
import { redisKeys, type RedisKeys } from '@shortwave/common/redis-keys'
import { createKeyPool, type KeyPool } from '@shortwave/common/key-pool'
import { createTestInfra, pooledKeys, type TestInfra } from '@shortwave/testing/infra'
import { customAlphabet } from 'nanoid'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { refillPool } from '../src/pool-refiller.ts'
import { createKeyGenerator } from '@shortwave/common/keys'
import { linkRows } from './helpers.ts'

describe('pool refill', () => {
  let infra: TestInfra
  let repo: LinkRepository
  let keys: RedisKeys
  let pool: KeyPool

  beforeAll(async () => {
    infra = await createTestInfra('kw_refill')
    repo = createLinkRepository(infra.cassandra)
    keys = redisKeys(infra.prefix)
    pool = createKeyPool(infra.redis, keys)
  })
  afterAll(async () => { await infra?.close() })
  beforeEach(async () => { await infra.redis.del(keys.pool) })

  it('fills the pool to the high-water mark with chunks of keys claimed in Cassandra by this worker', async () => {
    const settings = { workerId: 'refill-a', highWater: 1500, batchSize: 100, concurrency: 4 }
    const outcome = await refillPool({ pool, repo, generator: createKeyGenerator(7) }, settings)

    const pooled = await pooledKeys(infra)
    expect(pooled.length).toBeGreaterThanOrEqual(1500)
    expect(outcome.depth).toBe(pooled.length)
    expect(outcome.pooled).toBe(pooled.length)
    // One chunk per claim batch, each of one bucket: a create-service replica leases it whole.
    const chunks = await infra.redis.smembers(keys.pool)
    expect(chunks).toHaveLength(outcome.batches)
    for (const chunk of chunks) expect(new Set(chunk.split(' ').map(bucketOf)).size).toBe(1)
    const shape = new RegExp(`^[${KEY_ALPHABET}]{7}$`)
    const rows = await linkRows(infra)
    for (const key of pooled) {
      expect(key).toMatch(shape)
      expect(rows.get(key)).toEqual({ key, state: 'pooled', claimedBy: 'refill-a' })
    }
  })

  it('claims nothing when the pool is already at the high-water mark', async () => {
    await pool.offer(Array.from({ length: 10 }, (_, i) => `fillerA${i}`))
    await pool.offer(Array.from({ length: 10 }, (_, i) => `fillerB${i}`))
    const outcome = await refillPool({ pool, repo, generator: createKeyGenerator(7) }, {
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
    const outcome = await refillPool({ pool, repo, generator }, { workerId: 'refill-c', highWater: 40, batchSize: 20, concurrency: 1 })

    expect(outcome.conflicts).toBe(1)
    expect(await pooledKeys(infra)).not.toContain(alias)
    expect(await pooledKeys(infra)).toHaveLength(40 - 1)
    const rows = await linkRows(infra)
    expect(rows.get(alias)).toEqual({ key: alias, state: 'active', claimedBy: 'create-service' })
    expect(await repo.find(alias)).toMatchObject({ url: 'https://example.com/alias' })
    for (const key of await pooledKeys(infra)) expect(rows.get(key)?.claimedBy).toBe('refill-c')
  })

  it('ends the pass without claiming when every generated key is taken', async () => {
    const existing = ['Kw8aaaa', 'Kw8aaab']
    const generator = { batch: () => existing }
    await refillPool({ pool, repo, generator }, { workerId: 'refill-d', highWater: 10, batchSize: 2, concurrency: 1 })
    await infra.redis.del(keys.pool)

    const outcome = await refillPool({ pool, repo, generator }, { workerId: 'refill-e', highWater: 10, batchSize: 2, concurrency: 2 })
    expect(outcome.pooled).toBe(0)
    expect(outcome.conflicts).toBeGreaterThanOrEqual(2)
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })

  it('starts no new batch once the signal is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const outcome = await refillPool({ pool, repo, generator: createKeyGenerator(7) }, {
      workerId: 'refill-f', highWater: 100, batchSize: 10, concurrency: 2
    }, controller.signal)
    expect(outcome.batches).toBe(0)
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })

  it('fails the pass when Cassandra refuses the claim, pooling nothing', async () => {
    const failing: Pick<LinkRepository, 'claimBatch'> = { claimBatch: async () => { throw new Error('cassandra down') } }
    await expect(refillPool({ pool, repo: failing, generator: createKeyGenerator(7) }, {
      workerId: 'refill-g', highWater: 100, batchSize: 10, concurrency: 3
    })).rejects.toThrow('cassandra down')
    expect(await infra.redis.scard(keys.pool)).toBe(0)
  })
})
