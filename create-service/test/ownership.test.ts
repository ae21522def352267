import { createLinkIndex } from '@shortwave/common/link-index'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { NEGATIVE, redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCursor } from '../src/cursor.ts'
import { createLinkInvalidator } from '../src/link-invalidation.ts'
import { appWithCallers, createLink, newApiKey, type TestKey, NO_LIFECYCLE } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let alice: TestKey
let bob: TestKey
let admin: TestKey

beforeAll(async () => {
  infra = await createTestInfra('cs_owner')
  ;({ app, alice, bob, admin } = await appWithCallers(infra, 100))
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

async function created (body: object, headers: Record<string, string> = {}): Promise<string> {
  const response = await createLink(app, body, headers)
  expect(response.statusCode).toBe(201)
  return response.json().key as string
}

function list (headers: Record<string, string>, query = '') {
  return app.inject({ method: 'GET', url: `/api/v1/links${query}`, headers })
}

function remove (key: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers })
}

describe('ownership', () => {
  it('stores the creating API key as the owner, and no owner for anonymous links', async () => {
    const owned = await created({ url: 'https://example.com/owned' }, alice.auth)
    const anonymous = await created({ url: 'https://example.com/anonymous' })
    const repo = createLinkRepository(infra.cassandra)
    expect((await repo.find(owned))?.owner).toBe(alice.id)
    expect((await repo.find(anonymous))?.owner).toBeNull()
  })

  it('answers 401 with a Bearer challenge for a key that does not exist or is malformed', async () => {
    for (const authorization of [`Bearer sw_${'A'.repeat(43)}`, 'Bearer nonsense', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const response = await createLink(app, { url: 'https://example.com/x' }, { authorization })
      expect(response.statusCode).toBe(401)
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(response.json()).toMatchObject({ statusCode: 401, code: 'SW_UNAUTHORIZED', message: expect.stringMatching(/API key/) })
    }
  })
})

describe('GET /api/v1/links', () => {
  it('answers 401 without an API key', async () => {
    const response = await list({})
    expect(response.statusCode).toBe(401)
    expect(response.json().message).toMatch(/an API key is required to list your links/)
  })

  it('lists only the caller\'s links, newest first, a page at a time', async () => {
    const carol = await newApiKey(infra, 'user', 'carol')
    const mine: string[] = []
    for (let i = 0; i < 5; i++) mine.push(await created({ url: `https://example.com/carol/${i}` }, carol.auth))
    await created({ url: 'https://example.com/not-carols' }, bob.auth)
    await created({ url: 'https://example.com/anon' })

    const seen: string[] = []
    const pages: number[] = []
    let cursor: string | null = null
    do {
      const response = await list(carol.auth, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(response.statusCode).toBe(200)
      const body = response.json()
      pages.push(body.links.length)
      for (const link of body.links) {
        expect(link).toEqual({ key: link.key, shortUrl: `http://localhost:8080/${link.key}`, url: expect.stringMatching(/^https:\/\/example\.com\/carol\/\d$/), createdAt: expect.any(String), expiresAt: null, title: null, tags: [], updatedAt: link.createdAt, ...NO_LIFECYCLE, domain: 'localhost', expired: false, clicks: 0 })
        seen.push(link.key)
      }
      cursor = body.nextCursor
    } while (cursor !== null)
    expect(pages).toEqual([2, 2, 1])
    expect(seen).toEqual([...mine].reverse())
  })

  it('returns 20 links by default and says when there are no more', async () => {
    const dave = await newApiKey(infra, 'user', 'dave')
    await created({ url: 'https://example.com/dave' }, dave.auth)
    const response = await list(dave.auth)
    expect(response.json()).toEqual({ links: [expect.objectContaining({ url: 'https://example.com/dave' })], nextCursor: null })
  })

  it('skips deleted links and entries whose link was never stored, and still fills the page', async () => {
    const erin = await newApiKey(infra, 'user', 'erin')
    const keys: string[] = []
    for (let i = 0; i < 4; i++) keys.push(await created({ url: `https://example.com/erin/${i}` }, erin.auth))
    expect((await remove(keys[2]!, erin.auth)).statusCode).toBe(204)
    // An alias race lost after the index entry was written leaves an entry without a link, or
    // naming a key that holds another (here: an older) link.
    const index = createLinkIndex(infra.cassandra)
    await index.list({ key: 'lost-race', url: 'https://example.com/lost', createdAt: new Date(), owner: erin.id })
    await index.list({ key: keys[0]!, url: 'https://example.com/other', createdAt: new Date(), owner: erin.id })
    const first = (await list(erin.auth, '?limit=2')).json()
    expect(first.links.map((l: { key: string }) => l.key)).toEqual([keys[3], keys[1]])
    const second = (await list(erin.auth, `?limit=2&cursor=${first.nextCursor}`)).json()
    expect(second).toEqual({ links: [expect.objectContaining({ key: keys[0] })], nextCursor: null })
  })

  it.each([
    ['limit=0', /limit must be at least 1/],
    ['limit=101', /limit must be at most 100/],
    ['limit=ten', /limit must be a whole number/],
    ['cursor=not-a-cursor', /cursor is not valid/],
    [`cursor=${Buffer.from('{"t":"x","k":"abc"}').toString('base64url')}`, /cursor is not valid/]
  ])('answers 400 to %s', async (query, message) => {
    const response = await list(alice.auth, `?${query}`)
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toMatch(message)
  })

  it('accepts a cursor it made', async () => {
    const cursor = encodeCursor({ createdAt: new Date(0), key: 'abc' })
    expect((await list(alice.auth, `?cursor=${cursor}`)).json()).toEqual({ links: [], nextCursor: null })
  })
})

describe('DELETE /api/v1/links/{key}', () => {
  const keys = () => redisKeys(infra.prefix)

  it('answers 401 without a key, 403 with another user\'s key, 404 for an unknown key', async () => {
    const key = await created({ url: 'https://example.com/alices' }, alice.auth)
    expect((await remove(key)).statusCode).toBe(401)
    const forbidden = await remove(key, bob.auth)
    expect(forbidden.statusCode).toBe(403)
    expect(forbidden.json()).toMatchObject({ code: 'SW_FORBIDDEN', message: expect.stringMatching(/belongs to another API key/) })
    expect((await remove('no-such-link', alice.auth)).statusCode).toBe(404)
    expect((await remove('has spaces', alice.auth)).statusCode).toBe(404)
    expect(await createLinkRepository(infra.cassandra).find(key)).not.toBeNull()
  })

  it('deletes the owner\'s link: the row stays, marked deleted, the cache holds a tombstone, and the key is gone for good', async () => {
    const key = await created({ url: 'https://example.com/doomed' }, alice.auth)
    expect(await infra.redis.get(keys().link(key))).toContain('doomed')

    const response = await remove(key, alice.auth)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')

    const row = (await infra.cassandra.execute('SELECT state, url, owner, deleted_at FROM links WHERE bucket = ? AND key = ?', [key.slice(0, 3), key], { prepare: true })).first()
    expect(row).toMatchObject({ state: 'deleted', url: null, owner: alice.id })
    expect(row['deleted_at']).toBeInstanceOf(Date)
    expect(await infra.redis.get(keys().link(key))).toBe(NEGATIVE)
    expect(await infra.redis.ttl(keys().link(key))).toBeGreaterThan(3600)
    expect((await app.inject({ method: 'GET', url: `/api/v1/links/${key}` })).statusCode).toBe(404)
    expect((await remove(key, alice.auth)).statusCode).toBe(404)
    // The key is never handed out again, not even as an alias.
    expect((await createLink(app, { url: 'https://example.com/reuse', alias: key }, alice.auth)).statusCode).toBe(409)
  })

  it('lets an admin key delete anyone\'s link, anonymous ones included; a user key cannot delete an anonymous link', async () => {
    const bobs = await created({ url: 'https://example.com/bobs' }, bob.auth)
    const anonymous = await created({ url: 'https://example.com/nobodys' })
    expect((await remove(anonymous, bob.auth)).statusCode).toBe(403)
    expect((await remove(bobs, admin.auth)).statusCode).toBe(204)
    expect((await remove(anonymous, admin.auth)).statusCode).toBe(204)
    expect((await list(bob.auth)).json().links.map((l: { key: string }) => l.key)).not.toContain(bobs)
  })

  it('tells every redirect replica on the invalidation channel', async () => {
    const subscriber = infra.redis.duplicate()
    const messages: string[] = []
    subscriber.on('message', (_channel: string, message: string) => messages.push(message))
    await subscriber.connect()
    await subscriber.subscribe(keys().linkInvalidations)
    try {
      const key = await created({ url: 'https://example.com/announced' }, alice.auth)
      expect((await remove(key, alice.auth)).statusCode).toBe(204)
      const deadline = Date.now() + 5000
      while (!messages.includes(key) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(messages).toContain(key)
    } finally {
      subscriber.disconnect()
    }
  })
})

describe('invalidating a deleted link while Redis fails', () => {
  const silent = { warn () {}, error () {} } as unknown as FastifyBaseLogger

  it('keeps retrying in the background until Redis takes the tombstone', async () => {
    let failures = 2
    const tombstoned: string[] = []
    const invalidator = createLinkInvalidator({
      cache: {
        async tombstone (key) {
          if (failures-- > 0) throw new Error('redis down')
          tombstoned.push(key)
        },
        async replace () { return true }
      },
      redis: infra.redis,
      channel: redisKeys(infra.prefix).linkInvalidations,
      log: silent,
      retryIntervalMs: 20
    })
    await invalidator.invalidate('abcdefg')
    expect(invalidator.pending).toBe(1)
    const deadline = Date.now() + 5000
    while (invalidator.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(invalidator.pending).toBe(0)
    expect(tombstoned).toEqual(['abcdefg'])
    invalidator.close()
  })
})
