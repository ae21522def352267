import { createLinkRepository } from '@shortwave/common/link-repository'
import { countActiveLinks, createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, newApiKey, observedCassandra, seedPool, startApp, NO_LIFECYCLE } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('cs_batch')
  await seedPool(infra, 300)
  app = await startApp(infra)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

function batch (target: FastifyInstance, links: unknown, headers: Record<string, string> = {}, remoteAddress?: string) {
  return target.inject({ method: 'POST', url: '/api/v1/links/batch', payload: { links } as object, headers, ...(remoteAddress ? { remoteAddress } : {}) })
}

describe('POST /api/v1/links/batch', () => {
  it('answers every item in place: 201 with its link, or the error it would get alone', async () => {
    await createLink(app, { url: 'https://example.com/first', alias: 'batch-taken' })
    const items = [
      { url: 'https://example.com/one' },
      { url: 'javascript:alert(1)' },
      { url: 'https://example.com/two', alias: 'batch-taken' },
      { url: 42 },
      'not an object',
      { url: 'https://example.com/three', alias: 'batch-alias', ttlSeconds: 60 },
      { url: 'https://example.com/x', colour: 'red' }
    ]
    const response = await batch(app, items)
    expect(response.statusCode).toBe(200)
    const { results } = response.json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([201, 400, 409, 400, 400, 201, 400])
    expect(results[0].link).toEqual({ key: expect.any(String), domain: 'localhost', shortUrl: `http://localhost:8080/${results[0].link.key}`, url: 'https://example.com/one', createdAt: expect.any(String), expiresAt: null, title: null, tags: [], updatedAt: results[0].link.createdAt, ...NO_LIFECYCLE })
    expect(results[5].link).toMatchObject({ key: 'batch-alias', expiresAt: expect.any(String) })

    // Each error is exactly the single create's answer for that body.
    for (const index of [1, 2, 3, 6]) {
      const alone = await createLink(app, items[index])
      expect(results[index]).toEqual({ status: alone.statusCode, error: alone.json() })
    }
    expect(results[1].error).toMatchObject({ statusCode: 400, message: 'url must be an absolute URL starting with http:// or https://' })
    expect(results[3].error.message).toBe('url must be a string')
    expect(results[4].error).toMatchObject({ statusCode: 400, message: 'link must be a JSON object' })
    expect(await createLinkRepository(infra.cassandra).find(results[0].link.key)).toMatchObject({ url: 'https://example.com/one' })
  })

  it('takes the lifecycle fields per item, each checked as a single create checks it', async () => {
    const rules = {
      validFrom: '2026-01-01T00:00:00.000Z',
      maxClicks: 10,
      fallbackUrl: 'https://example.com/fallback',
      disabled: true,
      forwardQuery: true,
      redirectStatus: 301
    }
    const items = [
      { url: 'https://example.com/ruled', ...rules },
      { url: 'https://example.com/bad-fallback', fallbackUrl: 'http://10.0.0.1/' },
      { url: 'https://example.com/bad-cap', maxClicks: 1.5 }
    ]
    const { results } = (await batch(app, items)).json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([201, 400, 400])
    expect(results[0].link).toMatchObject(rules)
    expect(results[1].error).toMatchObject({ code: 'SW_URL_PRIVATE_TARGET', message: expect.stringMatching(/^fallbackUrl /) })
    expect(results[2].error.message).toContain('maxClicks')
    const stored = await createLinkRepository(infra.cassandra).find(results[0].link.key)
    expect(stored).toMatchObject({ ...rules, validFrom: new Date(rules.validFrom) })
  })

  it('creates 100 links in one request, each under its own key', async () => {
    const response = await batch(app, Array.from({ length: 100 }, (_, i) => ({ url: `https://example.com/many/${i}` })))
    const { results } = response.json()
    expect(results).toHaveLength(100)
    expect(results.every((r: { status: number }) => r.status === 201)).toBe(true)
    expect(new Set(results.map((r: { link: { key: string } }) => r.link.key)).size).toBe(100)
    expect(results.map((r: { link: { url: string } }) => r.link.url)).toEqual(Array.from({ length: 100 }, (_, i) => `https://example.com/many/${i}`))
  })

  it.each([
    ['101 links', Array.from({ length: 101 }, () => ({ url: 'https://example.com/' })), /links must hold at most 100 items/],
    ['no links', [], /links must hold at least 1 item$/],
    ['links that is not an array', { url: 'https://example.com/' }, /links must be a JSON array/]
  ])('answers 400 to %s and creates nothing', async (_name, links, message) => {
    const before = await countActiveLinks(infra.cassandra)
    const response = await batch(app, links)
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toMatch(message)
    expect(await countActiveLinks(infra.cassandra)).toBe(before)
  })

  it('owns the links by the API key that sent them', async () => {
    const key = await newApiKey(infra)
    const { results } = (await batch(app, [{ url: 'https://example.com/o1' }, { url: 'https://example.com/o2' }], key.auth)).json()
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/links', headers: key.auth })).json()
    expect(listed.links.map((l: { key: string }) => l.key).sort())
      .toEqual(results.map((r: { link: { key: string } }) => r.link.key).sort())
  })

  it('answers 503 when no link could be stored', async () => {
    const observed = observedCassandra(infra.cassandra)
    const down = await startApp(infra, {}, { cassandra: observed.client })
    try {
      observed.state.down = true
      const response = await batch(down, [{ url: 'https://example.com/a', alias: 'down-a' }, { url: 'https://example.com/b', alias: 'down-b' }])
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBeDefined()
    } finally {
      observed.state.down = false
      await down.close()
    }
  })
})

describe('rate limit of batches', () => {
  let limited: FastifyInstance

  beforeAll(async () => {
    limited = await startApp(infra, { RATE_LIMIT_MAX: '5' })
  })

  afterAll(async () => {
    await limited?.close()
  })

  it('charges one per item: the items beyond the budget get 429, the ones before go through', async () => {
    const response = await batch(limited, Array.from({ length: 8 }, (_, i) => ({ url: `https://example.com/budget/${i}` })), {}, '10.2.0.1')
    expect(response.statusCode).toBe(200)
    const statuses = response.json().results.map((r: { status: number }) => r.status)
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429])
    expect(response.json().results[5].error).toMatchObject({ code: 'SW_RATE_LIMITED', message: expect.stringMatching(/^Too many requests; retry in \d+/) })
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
    expect(response.headers['ratelimit-policy']).toBe('"create";q=5;w=60')
    expect(response.headers['ratelimit']).toMatch(/^"create";r=0;t=\d+$/)
  })

  it('shares the budget with single creates', async () => {
    for (let i = 0; i < 3; i++) expect((await createLink(limited, { url: 'https://example.com/s' }, {}, '10.2.0.2')).statusCode).toBe(201)
    const { results } = (await batch(limited, Array.from({ length: 4 }, () => ({ url: 'https://example.com/s' })), {}, '10.2.0.2')).json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([201, 201, 429, 429])
    const single = await createLink(limited, { url: 'https://example.com/s' }, {}, '10.2.0.2')
    expect(single.statusCode).toBe(429)
    expect(Number(single.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('answers 429 to the whole batch when nothing is left, and keeps API keys apart from addresses', async () => {
    const key = await newApiKey(infra)
    await batch(limited, Array.from({ length: 5 }, () => ({ url: 'https://example.com/k' })), key.auth, '10.2.0.3')
    const refused = await batch(limited, [{ url: 'https://example.com/k' }], key.auth, '10.2.0.3')
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toMatchObject({ statusCode: 429, code: 'SW_RATE_LIMITED' })
    // The same address without the key has its own budget.
    expect((await createLink(limited, { url: 'https://example.com/k' }, {}, '10.2.0.3')).statusCode).toBe(201)
  })
})
