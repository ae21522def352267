import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { countActiveLinks, createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, metricValue, observedCassandra, poolSize, seedPool, startApp, NO_LIFECYCLE } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let pooled: Set<string>

beforeAll(async () => {
  infra = await createTestInfra('cs_create', { BLOCKED_DOMAINS: 'evil.example', KEY_LEASE_AHEAD: '0' })
  pooled = new Set(await seedPool(infra, 50, 4))
  app = await startApp(infra)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

function expectErrorShape (response: { statusCode: number, json: () => unknown }, status: number): string {
  expect(response.statusCode).toBe(status)
  const body = response.json() as Record<string, unknown>
  expect(body).toMatchObject({ statusCode: status, error: STATUS_CODES[status] })
  expect(Object.keys(body).sort()).toEqual(expect.arrayContaining(['error', 'message', 'statusCode']))
  expect(typeof body['message']).toBe('string')
  expect((body['message'] as string).length).toBeGreaterThan(5)
  return body['message'] as string
}

const future = () => new Date(Date.now() + 86_400_000).toISOString()

describe('POST /api/v1/links refuses bad input and stores nothing', () => {
  const url = 'https://example.com/page'
  const HTTP_ONLY = /^url must be an absolute URL starting with http:\/\/ or https:\/\/$/
  const json: Array<[string, unknown, RegExp]> = [
    ['a javascript: URL', { url: 'javascript:alert(1)' }, HTTP_ONLY],
    ['a data: URL', { url: 'data:text/html,hi' }, HTTP_ONLY],
    ['a file: URL', { url: 'file:///etc/passwd' }, HTTP_ONLY],
    ['an ftp: URL', { url: 'ftp://example.com/f' }, HTTP_ONLY],
    ['a mailto: URL', { url: 'mailto:a@example.com' }, HTTP_ONLY],
    ['a relative URL', { url: '/a/b' }, HTTP_ONLY],
    ['a URL without a scheme', { url: 'example.com/a' }, HTTP_ONLY],
    ['an http URL without its slashes (a browser would resolve it against the short link)', { url: 'http:example.com' }, HTTP_ONLY],
    ['an empty url', { url: '' }, /^url must not be empty$/],
    ['a space before the URL', { url: ' https://example.com/' }, /^url must not contain spaces or control characters; found a space at position 1$/],
    ['a byte order mark before the URL', { url: '\ufeffhttps://example.com/' }, /found the character U\+FEFF at position 1$/],
    ['a URL without a host', { url: 'https://' }, /absolute URL/],
    ['localhost', { url: 'http://localhost/' }, /loop|public host/],
    ['our own public host', { url: 'http://localhost:8080/x' }, /loop/],
    ['our own host in capitals with a trailing dot', { url: 'HTTP://LOCALHOST./' }, /loop/],
    ['our own host by IP', { url: 'http://127.0.0.1:9/' }, /loop/],
    ['a blocked domain', { url: 'https://evil.example/' }, /evil\.example/],
    ['a subdomain of a blocked domain', { url: 'https://www.evil.example/x' }, /evil\.example/],
    ['credentials in the URL', { url: 'https://user:secret@example.com/' }, /user name or password/],
    ['a URL of 2049 characters', { url: `https://example.com/${'a'.repeat(2029)}` }, /url must be at most 2048 characters/],
    ['a CR/LF in the URL', { url: 'https://example.com/\r\nSet-Cookie: a=b' }, /carriage return/],
    ['a line feed in the URL', { url: 'https://example.com/a\nb' }, /line feed/],
    ['a tab in the URL', { url: 'https://example.com/a\tb' }, /tab/],
    ['a space in the URL', { url: 'https://example.com/a b' }, /space/],
    ['a NUL in the URL', { url: 'https://example.com/a\u0000b' }, /NUL/],
    ['a url that is not a string', { url: 42 }, /^url must be a string$/],
    ['a url that is an array', { url: [url] }, /^url must be a string$/],
    ['a missing url', { alias: 'no-url-here' }, /^url is required$/],
    ['a body that is not an object', [url], /request body must be a JSON object/],
    ['an alias that is too short', { url, alias: 'ab' }, /alias must be 3 to 64 characters/],
    ['an alias that is too long', { url, alias: 'a'.repeat(65) }, /alias must be 3 to 64 characters/],
    ['an alias with bad characters', { url, alias: 'my alias!' }, /letters, digits/],
    ['an alias with a slash', { url, alias: 'a/b/c' }, /letters, digits/],
    ['an alias with a zero-width space', { url, alias: 'my\u200balias' }, /^alias must not contain spaces or control characters; found the character U\+200B at position 3$/],
    ['a reserved alias in capitals', { url, alias: 'API' }, /"API" is a reserved word/],
    ['the reserved alias healthz', { url, alias: 'healthz' }, /reserved/],
    ['the alias batch, a path of the links API', { url, alias: 'batch' }, /"batch" is a reserved word/],
    ['expiresAt in the past', { url, expiresAt: '2020-01-01T00:00:00Z' }, /in the past/],
    ['a garbage expiresAt', { url, expiresAt: 'next tuesday' }, /ISO-8601/],
    ['an expiresAt beyond the maximum', { url, expiresAt: '2099-01-01T00:00:00Z' }, /at most 5 years ahead/],
    ['ttlSeconds 0', { url, ttlSeconds: 0 }, /ttlSeconds must be at least 1/],
    ['ttlSeconds -1', { url, ttlSeconds: -1 }, /ttlSeconds must be at least 1/],
    ['ttlSeconds 1.5', { url, ttlSeconds: 1.5 }, /ttlSeconds must be a whole number/],
    ['a huge ttlSeconds', { url, ttlSeconds: 1e12 }, /ttlSeconds must be a whole number from 1 to 157680000/],
    ['ttlSeconds as a string', { url, ttlSeconds: '60' }, /ttlSeconds must be a whole number/],
    ['both expiresAt and ttlSeconds', { url, expiresAt: future(), ttlSeconds: 60 }, /either expiresAt or ttlSeconds/],
    ['an unknown field', { url, owner: 'me' }, /"owner" is not a known field; the fields are url, alias, expiresAt, ttlSeconds/]
  ]
  const raw: Array<[string, string, string, number, RegExp]> = [
    ['malformed JSON', 'application/json', '{"url": "https://example.com/', 400, /not valid JSON/],
    ['an empty JSON body', 'application/json', '', 400, /empty/],
    ['a text/plain body', 'text/plain', `{"url":"${url}"}`, 415, /text\/plain is not supported; send a JSON body/],
    ['a form body', 'application/x-www-form-urlencoded', `url=${encodeURIComponent(url)}`, 415, /application\/x-www-form-urlencoded is not supported/],
    ['a body over the size limit', 'application/json', JSON.stringify({ url: `https://example.com/${'a'.repeat(9000)}` }), 413, /too large/]
  ]

  async function expectNothingStored (
    send: () => Promise<{ statusCode: number, json: () => unknown }>,
    status: number,
    message: RegExp
  ) {
    const linksBefore = await countActiveLinks(infra.cassandra)
    const poolBefore = await poolSize(infra)
    const response = await send()
    expect(expectErrorShape(response, status)).toMatch(message)
    expect(await countActiveLinks(infra.cassandra)).toBe(linksBefore)
    expect(await poolSize(infra)).toBe(poolBefore)
  }

  it.each(json)('answers 400 to %s', async (_name, body, message) => {
    await expectNothingStored(() => createLink(app, body), 400, message)
  })

  it.each(raw)('refuses %s', async (_name, contentType, payload, status, message) => {
    await expectNothingStored(() => app.inject({ method: 'POST', url: '/api/v1/links', headers: { 'content-type': contentType }, payload }), status, message)
  })
})

describe('POST /api/v1/links creates links', () => {
  const keys = () => redisKeys(infra.prefix)

  it('creates a link under a key from the pool, stores it and writes it through to the cache', async () => {
    const before = await poolSize(infra)
    const response = await createLink(app, { url: 'https://example.com/generated' })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(pooled.has(body.key)).toBe(true)
    expect(body).toEqual({
      key: body.key,
      domain: 'localhost',
      shortUrl: `http://localhost:8080/${body.key}`,
      url: 'https://example.com/generated',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      expiresAt: null,
      title: null,
      tags: [],
      updatedAt: body.createdAt,
      ...NO_LIFECYCLE
    })
    expect(response.headers['location']).toBe(`http://localhost:8080/api/v1/links/${body.key}`)
    expect(await poolSize(infra)).toBe(before - 4) // one chunk, leased whole
    const stored = await createLinkRepository(infra.cassandra).find(body.key)
    expect(stored).toMatchObject({ key: body.key, url: 'https://example.com/generated', expiresAt: null })
    expect(JSON.parse((await infra.redis.get(keys().link(body.key)))!)).toEqual({ u: 'https://example.com/generated', e: null })
  })

  it('creates a link under a custom alias', async () => {
    const response = await createLink(app, { url: 'https://example.com/alias', alias: 'My_alias-1' })
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({ key: 'My_alias-1', shortUrl: 'http://localhost:8080/My_alias-1', url: 'https://example.com/alias' })
    expect(await createLinkRepository(infra.cassandra).find('My_alias-1')).toMatchObject({ url: 'https://example.com/alias' })
    expect(await infra.redis.get(keys().link('My_alias-1'))).toContain('https://example.com/alias')
  })

  it('stores the URL exactly as given, without re-encoding it', async () => {
    const response = await createLink(app, { url: "HTTPS://Exämple.COM/ü?q='1'" })
    expect(response.statusCode).toBe(201)
    expect(response.json().url).toBe("HTTPS://Exämple.COM/ü?q='1'")
    expect(await createLinkRepository(infra.cassandra).find(response.json().key)).toMatchObject({ url: "HTTPS://Exämple.COM/ü?q='1'" })
  })

  it('answers 409 when the alias is taken, and keeps the first link', async () => {
    expect((await createLink(app, { url: 'https://example.com/first', alias: 'taken-alias' })).statusCode).toBe(201)
    const second = await createLink(app, { url: 'https://example.com/second', alias: 'taken-alias' })
    expect(expectErrorShape(second, 409)).toMatch(/"taken-alias" is already taken/)
    expect(await createLinkRepository(infra.cassandra).find('taken-alias')).toMatchObject({ url: 'https://example.com/first' })
  })

  it('answers 409 when the alias equals a key the key-worker claimed', async () => {
    const [claimed] = await seedPool(infra, 1)
    await infra.redis.srem(keys().pool, claimed!)
    const response = await createLink(app, { url: 'https://example.com/x', alias: claimed })
    expectErrorShape(response, 409)
  })

  it('stores an explicit expiresAt and caps the cache entry at it', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000)
    const response = await createLink(app, { url: 'https://example.com/expiring', expiresAt: expiresAt.toISOString() })
    expect(response.statusCode).toBe(201)
    const { key, expiresAt: returned } = response.json()
    expect(returned).toBe(expiresAt.toISOString())
    expect((await createLinkRepository(infra.cassandra).find(key))?.expiresAt?.toISOString())
      .toBe(expiresAt.toISOString())
    const ttl = await infra.redis.pttl(keys().link(key))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(3_600_000)
  })

  it('turns ttlSeconds into an expiry', async () => {
    const before = Date.now()
    const response = await createLink(app, { url: 'https://example.com/ttl', ttlSeconds: 600 })
    expect(response.statusCode).toBe(201)
    const body = response.json()
    const expires = Date.parse(body.expiresAt)
    expect(expires - Date.parse(body.createdAt)).toBe(600_000)
    expect(expires).toBeGreaterThanOrEqual(before + 600_000)
  })

  it('builds shortUrl and Location from PUBLIC_BASE_URL', async () => {
    const other = await startApp(infra, { PUBLIC_BASE_URL: 'https://SW.example/' })
    try {
      const response = await createLink(other, { url: 'https://example.com/base' })
      const { key, shortUrl } = response.json()
      expect(shortUrl).toBe(`https://sw.example/${key}`)
      expect(response.headers['location']).toBe(`https://sw.example/api/v1/links/${key}`)
      expect((await createLink(other, { url: 'https://sw.example/loop' })).statusCode).toBe(400)
    } finally {
      await other.close()
    }
  })

  it('counts created links by kind', async () => {
    expect(await metricValue(app, 'shortwave_links_created_total', 'kind="alias"')).toBeGreaterThanOrEqual(2)
    expect(await metricValue(app, 'shortwave_links_created_total', 'kind="generated"')).toBeGreaterThanOrEqual(3)
    expect(await metricValue(app, 'shortwave_keys_taken_total', 'source="pool"')).toBeGreaterThanOrEqual(3)
  })
})

describe('concurrent claims of one alias', () => {
  it('gives the alias to exactly one of twenty simultaneous requests', async () => {
    const observed = observedCassandra(infra.cassandra, (query) => query.includes('IF NOT EXISTS'))
    const racing = await startApp(infra, {}, { cassandra: observed.client })
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        createLink(racing, { url: `https://example.com/racer/${i}`, alias: 'contested' })))
      const statuses = responses.map((r) => r.statusCode)
      expect(statuses.filter((s) => s === 201)).toHaveLength(1)
      expect(statuses.filter((s) => s === 409)).toHaveLength(19)
      // The claims really raced inside Cassandra rather than queueing up in front of it.
      expect(observed.state.maxInFlight).toBeGreaterThan(1)
      const winner = responses.find((r) => r.statusCode === 201)!.json()
      expect((await createLinkRepository(infra.cassandra).find('contested'))?.url).toBe(winner.url)
    } finally {
      await racing.close()
    }
  })
})

describe('GET /api/v1/links/:key', () => {
  it('returns the creation fields and the click count', async () => {
    const created = (await createLink(app, { url: 'https://example.com/meta', ttlSeconds: 3600 })).json()
    const first = await app.inject({ method: 'GET', url: `/api/v1/links/${created.key}` })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ ...created, clicks: 0 })

    await createLinkRepository(infra.cassandra).addClicks(created.key, new Date().toISOString().slice(0, 10), 3, 2)
    expect((await app.inject({ method: 'GET', url: `/api/v1/links/${created.key}` })).json().clicks).toBe(3)
  })

  it.each([
    ['an unknown key', '/api/v1/links/Zz9unknown'],
    ['a key that cannot exist', '/api/v1/links/no%20such%20key'],
    ['a key that is too long', `/api/v1/links/${'a'.repeat(300)}`]
  ])('answers 404 for %s', async (_name, url) => {
    expect(expectErrorShape(await app.inject({ method: 'GET', url }), 404)).toMatch(/No link/)
  })

  it('answers 404 for a key that is claimed but holds no link yet', async () => {
    const [claimed] = await seedPool(infra, 1)
    await infra.redis.srem(redisKeys(infra.prefix).pool, claimed!)
    expectErrorShape(await app.inject({ method: 'GET', url: `/api/v1/links/${claimed}` }), 404)
  })

  it('answers 404 for an expired link', async () => {
    const past = new Date(Date.now() - 60_000)
    await createLinkRepository(infra.cassandra).insertIfAbsent({ key: 'expired-link', url: 'https://example.com/old', createdAt: past, expiresAt: past, owner: null }, 'test')
    expectErrorShape(await app.inject({ method: 'GET', url: '/api/v1/links/expired-link' }), 404)
  })
})

describe('ALLOW_ANONYMOUS=false', () => {
  it('answers 401 to a create without an API key and stores nothing', async () => {
    const closed = await startApp(infra, { ALLOW_ANONYMOUS: 'false' })
    try {
      const before = await countActiveLinks(infra.cassandra)
      const response = await createLink(closed, { url: 'https://example.com/anonymous' })
      expect(expectErrorShape(response, 401)).toMatch(/API key is required/)
      expect(await countActiveLinks(infra.cassandra)).toBe(before)
    } finally {
      await closed.close()
    }
  })
})
