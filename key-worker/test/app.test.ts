import { createKeyGenerator } from '@shortwave/common/keys'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, pooledKeys, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { buildWorker, metricValue, waitFor, workerConfig } from './helpers.ts'

describe('key-worker app', () => {
  let infra: TestInfra

  beforeAll(async () => { infra = await createTestInfra('kw_app') })
  afterAll(async () => { await infra?.close() })

  it('is ready only once the pool reaches low water, and keeps refilling after failed passes', async () => {
    const pool = redisKeys(infra.prefix).pool
    const real = createKeyGenerator(7)
    let failing = true
    // Until `failing` is cleared every refill pass fails, as if key generation or Cassandra were down.
    const generator = {
      batch (count: number): string[] {
        if (failing) throw new Error('generator unavailable')
        return real.batch(count)
      }
    }
    const app = await buildWorker(infra, {
      WORKER_ID: 'app-a', POOL_LOW_WATER: '300', POOL_HIGH_WATER: '600', CLAIM_BATCH_SIZE: '50', REFILL_INTERVAL_MS: '20'
    }, { generator })
    try {
      expect((await app.inject('/healthz')).statusCode).toBe(200)
      const notReady = await app.inject('/readyz')
      expect(notReady.statusCode).toBe(503)
      expect(notReady.json()).toEqual({ status: 'not ready', checks: { cassandra: 'up', redis: 'up', pool: 'down' } })
      await waitFor('a failed refill pass', async () => await metricValue(app, 'shortwave_key_refill_errors_total') > 0)
      expect(await infra.redis.scard(pool)).toBe(0)

      failing = false
      await waitFor('readiness', async () => (await app.inject('/readyz')).statusCode === 200)
      expect((await pooledKeys(infra)).length).toBeGreaterThanOrEqual(300)

      // Chunks of 50 fresh keys: the depth the worker counts is the keys the pool holds.
      await waitFor('the pool at high water', async () => (await pooledKeys(infra)).length >= 600)
      const depth = (await pooledKeys(infra)).length
      await waitFor('the claim counter to catch up', async () => await metricValue(app, 'shortwave_keys_claimed_total') === depth)
      const metrics = await app.inject('/metrics')
      expect(metrics.statusCode).toBe(200)
      expect(metrics.body).toContain(`shortwave_keys_claimed_total{service="key-worker"} ${depth}`)
      expect(metrics.body).toContain(`shortwave_key_pool_depth{service="key-worker"} ${depth}`)
      expect(metrics.body).toMatch(/shortwave_key_claim_batches_total\{service="key-worker"\} [1-9]/)
      expect(metrics.body).toContain('shortwave_key_claim_batch_duration_seconds_bucket')
      expect(metrics.body).toMatch(/shortwave_clicks_folded_total\{audience="people",service="key-worker"\} 0/)
    } finally {
      await app.close()
    }
  })

  it('becomes unready when the pool is drained below low water', async () => {
    const pool = redisKeys(infra.prefix).pool
    // A long interval: after the first pass nothing refills during the test.
    const app = await buildWorker(infra, { WORKER_ID: 'app-b', POOL_LOW_WATER: '101', POOL_HIGH_WATER: '200', REFILL_INTERVAL_MS: '60000' })
    try {
      await infra.redis.del(pool)
      await app.ready()
      await waitFor('readiness', async () => (await app.inject('/readyz')).statusCode === 200)
      // Chunks of 100 keys (CLAIM_BATCH_SIZE): one left is below low water.
      await waitFor('the first pass to end', async () => await infra.redis.scard(pool) >= 2)
      await infra.redis.spop(pool, (await infra.redis.scard(pool)) - 1)
      expect(await pooledKeys(infra)).toHaveLength(100)
      expect((await app.inject('/readyz')).statusCode).toBe(503)
    } finally {
      await app.close()
    }
  })

  it('keeps running and retrying while Redis is unreachable', async () => {
    // Nothing listens on port 1; the app creates (and owns) its Redis client from the config.
    const config = workerConfig(infra, { WORKER_ID: 'app-c', REDIS_URL: 'redis://127.0.0.1:1', REFILL_INTERVAL_MS: '20', CLICK_FOLD_INTERVAL_MS: '50' })
    const app = await buildApp(config, { cassandra: infra.cassandra, logger: false })
    try {
      await app.ready()
      await waitFor('failed refill and fold passes', async () =>
        await metricValue(app, 'shortwave_key_refill_errors_total') >= 3 && await metricValue(app, 'shortwave_click_fold_errors_total') >= 3)
      expect((await app.inject('/healthz')).statusCode).toBe(200)
      const ready = await app.inject('/readyz')
      expect(ready.statusCode).toBe(503)
      expect(ready.json().checks).toEqual({ cassandra: 'up', redis: 'down', pool: 'down' })
      expect((await app.inject('/metrics')).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
})
