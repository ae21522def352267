import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { restoreState, snapshotState } from './faults/harness/redis-rollback.ts'
import { createLink, inParallel, startStack, waitFor, type Stack } from './helpers/stack.ts'

// Redis may lose or go back in time (a failover to a lagging replica, a restore from a backup);
// the keys it handed out then come back. Invariant 1 must not rest on it.

const LINKS = 1000

describe('Redis rolled back to an older state', () => {
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('e2e_rollback')
    stack = await startStack(infra, { env: { POOL_LOW_WATER: '400', POOL_HIGH_WATER: '1500', CLAIM_BATCH_SIZE: '50', REFILL_INTERVAL_MS: '50' } })
    await waitFor('the pool to fill', async () => await infra.redis.scard(redisKeys(infra.prefix).pool) >= 20)
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  async function createBatch (tag: string): Promise<Array<{ key: string, url: string }>> {
    const urls = Array.from({ length: LINKS }, (_, i) => `https://example.com/${tag}/${i}`)
    return inParallel(urls, 20, async (url) => {
      const res = await createLink(stack.createUrl, { url })
      expect(res.status).toBe(201)
      return { key: res.body['key'] as string, url }
    })
  }

  it(`hands out no key twice across ${LINKS} creates before and ${LINKS} after, and every earlier link keeps its URL`, async () => {
    const before = await snapshotState(infra.redis, infra.prefix)
    expect(before.entries.some((s) => s.key === redisKeys(infra.prefix).pool)).toBe(true)
    const first = await createBatch('before')
    await restoreState(infra.redis, infra.prefix, before)
    const second = await createBatch('after')

    const keys = [...first, ...second].map((l) => l.key)
    expect(new Set(keys).size).toBe(keys.length)
    const moved = await inParallel(first, 20, async ({ key, url }) => {
      const res = await fetch(`${stack.redirectUrl}/${key}`, { redirect: 'manual' })
      await res.arrayBuffer()
      return res.status === 302 && res.headers.get('location') === url ? null : key
    })
    expect(moved.filter(Boolean)).toEqual([])
  }, 240_000)
})
