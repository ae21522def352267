import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, inParallel, startStack, type Stack } from './helpers/stack.ts'

const LINKS = 20_000

describe('key uniqueness across workers and concurrent creates', () => {
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('e2e_unique')
    // Small water marks and batches: the pool runs dry and refills many times during the run,
    // so both workers claim concurrently and the bypass path is exercised as well.
    stack = await startStack(infra, {
      workers: 2,
      env: { POOL_LOW_WATER: '200', POOL_HIGH_WATER: '1000', CLAIM_BATCH_SIZE: '50', REFILL_INTERVAL_MS: '50' }
    })
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  it(`hands out ${LINKS} distinct keys, each resolving to its own URL`, async () => {
    const urls = Array.from({ length: LINKS }, (_, i) => `https://example.com/item/${i}?n=${i}`)
    const created = await inParallel(urls, 64, async (url) => {
      const res = await createLink(stack.createUrl, { url })
      expect(res.status).toBe(201)
      return res.body['key'] as string
    })
    expect(new Set(created).size).toBe(LINKS)

    const mismatches = await inParallel(created, 64, async (key, i) => {
      const res = await fetch(`${stack.redirectUrl}/${key}`, { redirect: 'manual' })
      await res.arrayBuffer()
      return res.status !== 302 || res.headers.get('location') !== urls[i]
    })
    expect(mismatches.filter(Boolean)).toHaveLength(0)

    // Every key is claimed by exactly one party: one row per key, and the two workers both took part.
    const rows = await infra.cassandra.execute('SELECT key, state, claimed_by FROM links', [], { prepare: true, fetchSize: 50_000 })
    const claimers = new Map<string, string>()
    for await (const row of rows) claimers.set(row['key'] as string, row['claimed_by'] as string)
    for (const key of created) expect(claimers.has(key)).toBe(true)
    const byClaimer = new Set(created.map((k) => claimers.get(k)))
    expect(byClaimer.has('test-worker-0') && byClaimer.has('test-worker-1')).toBe(true)
  }, 300_000)
})
