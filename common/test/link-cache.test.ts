import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkCache } from '../src/link-cache.ts'
import { NEGATIVE, redisKeys } from '../src/redis-keys.ts'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('cm_cache')
})

afterAll(async () => {
  await infra?.close()
})

describe('the link cache: an edit\'s entry', () => {
  const options = { ttlSeconds: 600, negativeTtlSeconds: 10 }
  const cache = () => createLinkCache(infra.redis, redisKeys(infra.prefix), options)
  const raw = async (key: string) => await infra.redis.get(redisKeys(infra.prefix).link(key))
  const link = (key: string, version: number, url = `https://example.com/${key}/v${version}`) =>
    ({ key, url, expiresAt: null, version })

  it('replaces an entry of an older version, one without a version, and an empty slot', async () => {
    expect(await cache().replace(link('ce1', 1))).toBe(true)
    expect(JSON.parse((await raw('ce1'))!)).toEqual({ u: 'https://example.com/ce1/v1', e: null, v: 1 })
    expect(await cache().replace(link('ce1', 2))).toBe(true)
    expect(JSON.parse((await raw('ce1'))!)).toMatchObject({ v: 2 })
    await cache().set({ key: 'ce2', url: 'https://example.com/ce2', expiresAt: null })
    expect(await cache().replace(link('ce2', 1))).toBe(true)
    expect(JSON.parse((await raw('ce2'))!)).toMatchObject({ v: 1 })
  })

  it('keeps an entry of a later version (two edits whose writes arrive out of order) and a tombstone', async () => {
    expect(await cache().replace(link('ce3', 3))).toBe(true)
    expect(await cache().replace(link('ce3', 2))).toBe(false)
    expect(JSON.parse((await raw('ce3'))!)).toMatchObject({ v: 3 })
    // A reader's fill of version 3 (it read the row before the writes of the edits arrived) counts too.
    await cache().fill(link('ce4', 3))
    expect(await cache().replace(link('ce4', 2))).toBe(false)
    await cache().tombstone('ce5')
    expect(await cache().replace(link('ce5', 4))).toBe(false)
    expect(await raw('ce5')).toBe(NEGATIVE)
  })

  it('lives as long as any entry, even when the link expires sooner, and holds the expiry', async () => {
    const expiresAt = new Date(Date.now() + 2000)
    expect(await cache().replace({ ...link('ce6', 1), expiresAt })).toBe(true)
    expect(await infra.redis.pttl(redisKeys(infra.prefix).link('ce6'))).toBeGreaterThan(590_000)
    const ce6 = { url: 'https://example.com/ce6/v1', expiresAt: expiresAt.getTime(), rules: null }
    expect(await cache().get('ce6')).toEqual({ kind: 'hit', link: ce6 })
    // A late fill of what a reader read before the edit finds the slot taken.
    await cache().fill({ key: 'ce6', url: 'https://example.com/ce6/v0', expiresAt: null })
    expect(JSON.parse((await raw('ce6'))!)).toMatchObject({ u: 'https://example.com/ce6/v1', v: 1 })
  })

  it('leaves the entries of links never edited as they were: no version in them', async () => {
    await cache().set({ key: 'ce7', url: 'https://example.com/ce7', expiresAt: null, version: 0 })
    expect(await raw('ce7')).toBe('{"u":"https://example.com/ce7","e":null}')
  })
})
