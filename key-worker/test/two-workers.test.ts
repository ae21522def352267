import { KEY_ALPHABET } from '@shortwave/common/keys'
import { createKeyPool } from '@shortwave/common/key-pool'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, pooledKeys, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { randomInt } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorker, linkRows, metricValue, waitFor } from './helpers.ts'

const WATER = { POOL_LOW_WATER: '100', CLAIM_BATCH_SIZE: '50', CLAIM_CONCURRENCY: '3', REFILL_INTERVAL_MS: '20' }

/** Keys from a small universe shared by every worker that uses it, so their claims collide. */
function overlappingGenerator (buckets: string[], perBucket: number) {
  const suffix = (i: number) => Array.from({ length: 4 }, (_, d) => KEY_ALPHABET[Math.floor(i / KEY_ALPHABET.length ** d) % KEY_ALPHABET.length]).join('')
  return {
    batch (count: number): string[] {
      const bucket = buckets[randomInt(buckets.length)]!
      const keys = new Set<string>()
      while (keys.size < Math.min(count, perBucket)) keys.add(bucket + suffix(randomInt(perBucket)))
      return [...keys]
    }
  }
}

async function refillSideBySide (infra: TestInfra, apps: FastifyInstance[], highWater: number): Promise<string[]> {
  const pool = createKeyPool(infra.redis, redisKeys(infra.prefix))
  try {
    await Promise.all(apps.map((app) => app.ready()))
    await waitFor('the pool to reach high water', async () => await pool.depth(Number(WATER.CLAIM_BATCH_SIZE)) >= highWater)
  } finally {
    // close() waits for the pass in progress, so nothing changes once it resolves.
    await Promise.all(apps.map((app) => app.close()))
  }
  return pooledKeys(infra)
}

describe('two key-workers refilling one pool', () => {
  let infra: TestInfra

  beforeAll(async () => { infra = await createTestInfra('kw_two') })
  afterAll(async () => { await infra?.close() })

  it('pools every key once, each claimed by exactly one of them', async () => {
    const env = { ...WATER, POOL_HIGH_WATER: '3000' }
    const apps = [await buildWorker(infra, { ...env, WORKER_ID: 'two-a' }), await buildWorker(infra, { ...env, WORKER_ID: 'two-b' })]
    const pooled = await refillSideBySide(infra, apps, 3000)
    const [claimedA, claimedB] = await Promise.all(apps.map((app) => metricValue(app, 'shortwave_keys_claimed_total')))

    const rows = await linkRows(infra)
    const pooledRows = [...rows.values()].filter((r) => r.state === 'pooled')
    expect(pooled.length).toBeGreaterThanOrEqual(3000 - 50)
    expect(pooledRows.length).toBe(pooled.length)
    expect(claimedA! + claimedB!).toBe(pooled.length)
    expect(claimedA).toBeGreaterThan(0)
    expect(claimedB).toBeGreaterThan(0)
    const byWorker = { 'two-a': 0, 'two-b': 0 } as Record<string, number>
    for (const key of pooled) byWorker[rows.get(key)!.claimedBy]! += 1
    expect(byWorker).toEqual({ 'two-a': claimedA, 'two-b': claimedB })
  })

  it('never hands out a key twice while a consumer drains the pool and most of their keys collide', async () => {
    const pool = redisKeys(infra.prefix).pool
    await infra.redis.del(pool)
    const env = { ...WATER, POOL_HIGH_WATER: '300' }
    const buckets = ['Qx2', 'Qx3', 'Qx4', 'Qx5', 'Qx6', 'Qx7', 'Qx8', 'Qx9', 'QxA', 'QxB']
    const apps = [
      await buildWorker(infra, { ...env, WORKER_ID: 'clash-a' }, { generator: overlappingGenerator(buckets, 400) }),
      await buildWorker(infra, { ...env, WORKER_ID: 'clash-b' }, { generator: overlappingGenerator(buckets, 400) })
    ]
    // Plays create-service: takes keys out as they arrive, so a key pooled twice would be handed out twice.
    const handedOut: string[] = []
    try {
      await Promise.all(apps.map((app) => app.ready()))
      await waitFor('2500 keys handed out', async () => {
        for (const chunk of await infra.redis.spop(pool, 1)) handedOut.push(...chunk.split(' '))
        return handedOut.length >= 2500
      }, 60_000)
    } finally {
      await Promise.all(apps.map((app) => app.close()))
    }
    const remaining = await pooledKeys(infra)
    const claimed = await Promise.all(apps.map((app) => metricValue(app, 'shortwave_keys_claimed_total')))
    const conflicts = await Promise.all(apps.map((app) => metricValue(app, 'shortwave_key_claim_conflicts_total')))

    // The collisions did happen, and Cassandra refused every one of them.
    expect(conflicts[0]! + conflicts[1]!).toBeGreaterThan(0)
    const everyKey = [...handedOut, ...remaining]
    expect(new Set(everyKey).size).toBe(everyKey.length)
    expect(claimed[0]! + claimed[1]!).toBe(everyKey.length)
    const rows = await linkRows(infra)
    const byWorker = { 'clash-a': 0, 'clash-b': 0 } as Record<string, number>
    for (const key of everyKey) byWorker[rows.get(key)!.claimedBy]! += 1
    expect(byWorker).toEqual({ 'clash-a': claimed[0], 'clash-b': claimed[1] })
  })
})
