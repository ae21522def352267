import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { gatedReader } from './helpers/gated-reader.ts'
import { createLink, redirectOf, startManagedStack, waitFor, type Stack } from './helpers/stack.ts'

// After a 200 to PATCH, every redirect replica serves the new target within 5 seconds, however
// hot the link was in its memory; no replica's late cache fill brings the old target back; and
// the clicks counted before the edit stay with the link.
describe('editing a link', () => {
  let infra: TestInfra
  let stack: Stack
  let auth: Record<string, string>

  beforeAll(async () => {
    infra = await createTestInfra('e2e_edit')
    ;({ stack, auth } = await startManagedStack(infra, { env: { CLICK_FLUSH_INTERVAL_MS: '200', CLICK_FOLD_INTERVAL_MS: '200' } }))
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  async function edit (key: string, body: object): Promise<number> {
    const response = await fetch(`${stack.createUrl}/api/v1/links/${key}`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    await response.arrayBuffer()
    return response.status
  }

  async function created (url: string): Promise<string> {
    const response = await createLink(stack.createUrl, { url }, auth)
    expect(response.status).toBe(201)
    return response.body['key'] as string
  }

  const target = async (url: string, key: string): Promise<string | null> =>
    (await redirectOf(url, key)).location?.toString() ?? null

  it('makes every replica redirect to the new target within 5 s, even for a key they are serving hot', async () => {
    const key = await created('https://example.com/old-target')
    const seen = stack.redirectUrls.map(() => [] as Array<string | null>)
    const hammering = { on: true }
    const hammers = stack.redirectUrls.map(async (url, replica) => {
      while (hammering.on) seen[replica]!.push(await target(url, key))
    })
    await waitFor('both replicas to redirect the key', async () => seen.every((targets) => targets.length >= 20), 10_000)

    expect(await edit(key, { url: 'https://example.com/new-target' })).toBe(200)
    const editedAt = Date.now()
    try {
      for (const [replica, url] of stack.redirectUrls.entries()) {
        await waitFor(`replica ${replica} to redirect to the new target`,
          async () => await target(url, key) === 'https://example.com/new-target', Math.max(0, editedAt + 5000 - Date.now()))
      }
      // Keep asking a little longer: once a replica served the new target, the old one never comes back.
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      hammering.on = false
      await Promise.all(hammers)
    }
    for (const targets of seen) {
      expect(targets[0]).toBe('https://example.com/old-target')
      const firstNew = targets.indexOf('https://example.com/new-target')
      expect(firstNew).toBeGreaterThan(0)
      expect(targets.slice(firstNew).every((t) => t === 'https://example.com/new-target')).toBe(true)
    }
  })

  it('keeps a replica that read the link just before the edit from caching the old target in Redis just after', async () => {
    const key = await created('https://example.com/raced-old')
    // A replica that has not seen the key yet: nothing in Redis, its Cassandra read is slow.
    await infra.redis.del(redisKeys(infra.prefix).link(key))
    const reader = gatedReader(infra)

    const pending = reader.resolver.resolve(key)
    await reader.read
    expect(await edit(key, { url: 'https://example.com/raced-new' })).toBe(200)
    reader.release()
    // It answers with what it read a moment before the edit…
    expect((await pending)?.url).toBe('https://example.com/raced-old')
    await reader.fillAttempted
    // …but its write-back could not replace the edit's entry,
    const cached = JSON.parse((await infra.redis.get(redisKeys(infra.prefix).link(key)))!) as { u: string }
    expect(cached.u).toBe('https://example.com/raced-new')
    // so every other replica, and this one once its own entry goes, serves the new target.
    reader.resolver.evict(key)
    expect((await reader.resolver.resolve(key))?.url).toBe('https://example.com/raced-new')
    for (const url of stack.redirectUrls) expect(await target(url, key)).toBe('https://example.com/raced-new')
  })

  it('keeps a late fill from bringing back a link whose edit made it expire sooner', async () => {
    const key = await created('https://example.com/shortened')
    await infra.redis.del(redisKeys(infra.prefix).link(key))
    const reader = gatedReader(infra)

    const pending = reader.resolver.resolve(key)
    await reader.read
    // The edit gives the link one more second; the reader still holds the row without an expiry.
    expect(await edit(key, { ttlSeconds: 1 })).toBe(200)
    const expiresAt = (await createLinkRepository(infra.cassandra).find(key))!.expiresAt!.getTime()
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 100))
    // The link has expired; only now does the reader write back what it read before the edit.
    reader.release()
    await pending
    await reader.fillAttempted
    const cached = JSON.parse((await infra.redis.get(redisKeys(infra.prefix).link(key)))!) as { e: number | null }
    expect(cached.e).toBe(expiresAt)
    reader.resolver.evict(key)
    // Found only as gone (410): the edit's entry, expiry and all, is what every replica reads.
    expect((await reader.resolver.resolve(key))?.expiresAt).toBe(expiresAt)
    for (const url of stack.redirectUrls) expect((await redirectOf(url, key)).status).toBe(410)
  })

  it('keeps the clicks counted before the edit, and counts on after it', async () => {
    const key = await created('https://example.com/counted-before')
    for (let i = 0; i < 3; i++) expect((await redirectOf(stack.redirectUrls[i % 2]!, key)).status).toBe(302)
    const clicks = async (): Promise<number> => {
      const response = await fetch(`${stack.createUrl}/api/v1/links/${key}`)
      return (await response.json() as { clicks: number }).clicks
    }
    await waitFor('the first clicks to be counted', async () => await clicks() === 3, 10_000)

    expect(await edit(key, { url: 'https://example.com/counted-after', title: 'Moved' })).toBe(200)
    // HEAD requests are not clicks: they watch for the new target without counting.
    await waitFor('both replicas to serve the new target', async () => {
      const heads = await Promise.all(stack.redirectUrls.map((url) => redirectOf(url, key, 'HEAD')))
      return heads.every((h) => h.location?.toString() === 'https://example.com/counted-after')
    }, 5000)
    for (let i = 0; i < 2; i++) expect((await redirectOf(stack.redirectUrls[i % 2]!, key)).status).toBe(302)
    await waitFor('every click to be counted', async () => await clicks() === 5, 10_000)
    // Nothing more arrives later, and nothing was reset.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await clicks()).toBe(5)
  })
})
