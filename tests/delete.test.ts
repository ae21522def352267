import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NEGATIVE, redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { gatedReader } from './helpers/gated-reader.ts'
import { createLink, redirectOf, startManagedStack, waitFor, type Stack } from './helpers/stack.ts'

// After a 204 to DELETE, every redirect replica answers 404 within 5 seconds, however hot the
// link was in its memory, and no replica's late cache fill can bring the link back.
describe('deleting a link', () => {
  let infra: TestInfra
  let stack: Stack
  let auth: Record<string, string>

  beforeAll(async () => {
    infra = await createTestInfra('e2e_delete')
    ;({ stack, auth } = await startManagedStack(infra))
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  async function remove (key: string): Promise<number> {
    const response = await fetch(`${stack.createUrl}/api/v1/links/${key}`, { method: 'DELETE', headers: auth })
    await response.arrayBuffer()
    return response.status
  }

  it('makes every replica answer 404 within 5 s, even for a key they are serving hot', async () => {
    const created = await createLink(stack.createUrl, { url: 'https://example.com/hot' }, auth)
    expect(created.status).toBe(201)
    const key = created.body['key'] as string

    // Both replicas keep redirecting the key, so it never leaves their in-process caches.
    const seen = stack.redirectUrls.map(() => [] as number[])
    const hammering = { on: true }
    const hammers = stack.redirectUrls.map(async (url, replica) => {
      while (hammering.on) seen[replica]!.push((await redirectOf(url, key)).status)
    })
    await waitFor('both replicas to redirect the key', async () => seen.every((statuses) => statuses.filter((s) => s === 302).length >= 20), 10_000)

    expect(await remove(key)).toBe(204)
    const deletedAt = Date.now()
    try {
      for (const [replica, url] of stack.redirectUrls.entries()) {
        await waitFor(`replica ${replica} to answer 404`, async () => (await redirectOf(url, key)).status === 404, Math.max(0, deletedAt + 5000 - Date.now()))
      }
      // Keep asking a little longer: once a replica said 404, nothing brings the link back.
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      hammering.on = false
      await Promise.all(hammers)
    }
    for (const statuses of seen) {
      const firstGone = statuses.indexOf(404)
      expect(firstGone).toBeGreaterThan(0)
      expect(statuses.slice(firstGone).every((s) => s === 404)).toBe(true)
    }
    expect(await infra.redis.get(redisKeys(infra.prefix).link(key))).toBe(NEGATIVE)
  })

  it('keeps a replica that read the link just before the delete from caching it in Redis just after', async () => {
    const created = await createLink(stack.createUrl, { url: 'https://example.com/raced' }, auth)
    const key = created.body['key'] as string
    const keys = redisKeys(infra.prefix)
    // A replica that has not seen the key yet: nothing in Redis, its Cassandra read is slow.
    await infra.redis.del(keys.link(key))
    const { resolver, read, release, fillAttempted } = gatedReader(infra)

    const pending = resolver.resolve(key)
    await read
    expect(await remove(key)).toBe(204)
    release()
    // It answers with what it read a moment before the delete…
    expect((await pending)?.url).toBe('https://example.com/raced')
    await fillAttempted
    // …but its write-back could not replace the delete's tombstone,
    expect(await infra.redis.get(keys.link(key))).toBe(NEGATIVE)
    // so every other replica, and this one once its own entry goes, answers 404.
    resolver.evict(key)
    expect(await resolver.resolve(key)).toBeNull()
    for (const url of stack.redirectUrls) expect((await redirectOf(url, key)).status).toBe(404)
  })
})
