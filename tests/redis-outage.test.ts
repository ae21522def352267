import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectRedis } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { privateRedis, type PrivateRedis } from './helpers/private-redis.ts'
import { createLink, redirectOf, startStack, waitFor, type Stack } from './helpers/stack.ts'

// Redis holds only what may be lost. Flushing it or killing it loses no link and stops no create.
describe('when Redis is flushed or restarted', () => {
  let infra: TestInfra
  let redisServer: PrivateRedis
  let redis: Redis
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('e2e_redis')
    redisServer = await privateRedis()
    await redisServer.start()
    redis = new Redis(redisServer.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      retryStrategy: () => 100
    })
    redis.on('error', () => {})
    await connectRedis(redis)
    stack = await startStack(infra, {
      redis,
      env: { POOL_LOW_WATER: '50', POOL_HIGH_WATER: '200', REFILL_INTERVAL_MS: '50', LOCAL_CACHE_TTL_MS: '50' }
    })
    // One chunk of CLAIM_BATCH_SIZE (100) keys is above the low water mark.
    await waitFor('the pool to fill', async () => (await redis.scard(redisKeys(infra.prefix).pool)) >= 1)
  })

  afterAll(async () => {
    await stack?.close()
    redis?.disconnect()
    await redisServer?.kill()
    await infra?.close()
  })

  it('keeps redirecting stored links and keeps creating after a flush', async () => {
    const before = await createLink(stack.createUrl, { url: 'https://example.com/before-flush' })
    expect(before.status).toBe(201)
    await redis.flushall()
    expect((await redirectOf(stack.redirectUrl, before.body['key'] as string)).location?.toString()).toBe('https://example.com/before-flush')
    const after = await createLink(stack.createUrl, { url: 'https://example.com/after-flush' })
    expect(after.status).toBe(201)
    expect((await redirectOf(stack.redirectUrl, after.body['key'] as string)).location?.toString()).toBe('https://example.com/after-flush')
  })

  it('keeps redirecting and creating while Redis is dead, and uses the pool again once it is back', async () => {
    const stored = await createLink(stack.createUrl, { url: 'https://example.com/stored' })
    expect(stored.status).toBe(201)
    await redisServer.kill()

    const keys = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const created = await createLink(stack.createUrl, { url: `https://example.com/while-down/${i}` })
      expect(created.status).toBe(201)
      keys.add(created.body['key'] as string)
      const redirect = await redirectOf(stack.redirectUrl, created.body['key'] as string)
      expect(redirect.location?.toString()).toBe(`https://example.com/while-down/${i}`)
    }
    expect(keys.size).toBe(20)
    expect((await redirectOf(stack.redirectUrl, stored.body['key'] as string)).location?.toString()).toBe('https://example.com/stored')

    await redisServer.start()
    await waitFor('the pool to refill after the restart', async () => {
      try { return (await redis.scard(redisKeys(infra.prefix).pool)) >= 1 } catch { return false }
    })
    const back = await createLink(stack.createUrl, { url: 'https://example.com/back' })
    expect(back.status).toBe(201)
    expect(keys.has(back.body['key'] as string)).toBe(false)
  })

  it('answers 503 with Retry-After for a capped link while Redis is dead, and counts on once it is back', async () => {
    const capped = await createLink(stack.createUrl, { url: 'https://example.com/capped', maxClicks: 3 })
    const plain = await createLink(stack.createUrl, { url: 'https://example.com/uncapped' })
    const [cappedKey, plainKey] = [capped.body['key'] as string, plain.body['key'] as string]
    expect((await redirectOf(stack.redirectUrl, cappedKey)).status).toBe(302)
    await redisServer.kill()

    // Its cap is a promise about a counter only Redis keeps; links without one carry on from Cassandra.
    const down = await fetch(`${stack.redirectUrl}/${cappedKey}`, { redirect: 'manual' })
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('2')
    expect((await redirectOf(stack.redirectUrl, plainKey)).location?.toString()).toBe('https://example.com/uncapped')

    await redisServer.start()
    await waitFor('Redis to be back for the capped link', async () =>
      (await redirectOf(stack.redirectUrl, cappedKey)).status === 302, 10_000)
  })
})
