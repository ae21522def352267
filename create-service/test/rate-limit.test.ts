import { spyOnStatements } from '@shortwave/testing/cassandra-spy'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, newApiKey, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('cs_ratelimit')
  app = await startApp(infra, { RATE_LIMIT_MAX: '3', TRUST_PROXY: '127.0.0.1' })
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

// Each test uses its own client addresses: the counters live in Redis for the whole window.
const body = { url: 'https://example.com/limited' }

describe('rate limit on POST /api/v1/links', () => {
  it('answers the fourth request of a client in the window with 429, Retry-After and the error shape', async () => {
    for (let i = 0; i < 3; i++) expect((await createLink(app, body, {}, '10.0.0.1')).statusCode).toBe(201)
    const limited = await createLink(app, body, {}, '10.0.0.1')
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.json()).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/^Too many requests; retry in \d+/), code: 'SW_RATE_LIMITED' })
    // Another client is not affected.
    expect((await createLink(app, body, {}, '10.0.0.2')).statusCode).toBe(201)
  })

  it('tells clients apart by the address nginx forwards', async () => {
    const viaNginx = (client: string) => createLink(app, body, { 'x-forwarded-for': client }, '127.0.0.1')
    for (let i = 0; i < 3; i++) expect((await viaNginx('203.0.113.1')).statusCode).toBe(201)
    expect((await viaNginx('203.0.113.1')).statusCode).toBe(429)
    expect((await viaNginx('203.0.113.2')).statusCode).toBe(201)
  })

  it('ignores X-Forwarded-For from anyone but nginx, so spoofing it does not escape the limit', async () => {
    const spoofed = (client: string) => createLink(app, body, { 'x-forwarded-for': client }, '10.9.9.9')
    for (let i = 0; i < 3; i++) expect((await spoofed(`198.51.100.${i}`)).statusCode).toBe(201)
    expect((await spoofed('198.51.100.99')).statusCode).toBe(429)
  })

  it('keeps counting after Redis forgets its scripts (a restart or SCRIPT FLUSH empties the script cache)', async () => {
    expect((await createLink(app, body, {}, '10.0.0.5')).statusCode).toBe(201)
    await infra.redis.script('FLUSH')
    expect((await createLink(app, body, {}, '10.0.0.5')).statusCode).toBe(201)
    expect((await createLink(app, body, {}, '10.0.0.5')).statusCode).toBe(201)
    expect((await createLink(app, body, {}, '10.0.0.5')).statusCode).toBe(429)
  })

  it('does not count bad requests of one client against another', async () => {
    for (let i = 0; i < 4; i++) await createLink(app, { url: 'ftp://x' }, {}, '10.0.0.3')
    expect((await createLink(app, body, {}, '10.0.0.4')).statusCode).toBe(201)
  })
})

describe('quotas per API key, and their RateLimit fields', () => {
  const policy = (headers: Record<string, unknown>) => headers['ratelimit-policy']
  const left = (headers: Record<string, unknown>) => /^"create";r=(\d+);t=(\d+)$/.exec(String(headers['ratelimit']))

  it('tells an anonymous client its quota and what is left of it on every create, and the wait on the 429', async () => {
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await createLink(app, body, {}, '10.0.1.1'))
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 429])
    for (const answer of answers) expect(policy(answer.headers)).toBe('"create";q=3;w=60')
    expect(answers.map((a) => Number(left(a.headers)?.[1]))).toEqual([2, 1, 0, 0])
    const [, , seconds] = left(answers[3]!.headers)!
    expect(Number(seconds)).toBeGreaterThan(0)
    expect(Number(seconds)).toBeLessThanOrEqual(60)
    expect(answers[3]!.headers['retry-after']).toBe(seconds)
  })

  it('gives a key its own rate, counted apart from its address and from other keys', async () => {
    const key = await newApiKey(infra, 'user', 'five a minute', { quota: 5, windowSeconds: 60 })
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await createLink(app, body, key.auth, '10.0.1.2')).statusCode)
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429])
    const last = await createLink(app, body, key.auth, '10.0.1.2')
    expect(policy(last.headers)).toBe('"create";q=5;w=60')
    expect(left(last.headers)?.[1]).toBe('0')
    // The same address without the key, and another key at that address, have their own quotas.
    expect((await createLink(app, body, {}, '10.0.1.2')).statusCode).toBe(201)
    expect((await createLink(app, body, (await newApiKey(infra, 'user', 'other', { quota: 1, windowSeconds: 3600 })).auth, '10.0.1.2')).headers['ratelimit-policy']).toBe('"create";q=1;w=3600')
  })

  it('gives a key without a rate of its own the configured API_KEY_RATE', async () => {
    const keyed = await startApp(infra, { RATE_LIMIT_MAX: '3', API_KEY_RATE: '7/h' })
    try {
      const answer = await createLink(keyed, body, (await newApiKey(infra)).auth, '10.0.1.3')
      expect(answer.statusCode).toBe(201)
      expect(policy(answer.headers)).toBe('"create";q=7;w=3600')
      expect(policy((await createLink(keyed, body, {}, '10.0.1.3')).headers)).toBe('"create";q=3;w=60')
    } finally {
      await keyed.close()
    }
  })

  it('never limits an unlimited key, and sends it no RateLimit fields: no policy applies to it', async () => {
    const admin = await newApiKey(infra, 'admin', 'unlimited', null)
    const answers = await Promise.all(Array.from({ length: 10 }, () => createLink(app, body, admin.auth, '10.0.1.4')))
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(201))
    expect(answers.map((a) => [a.headers['ratelimit-policy'], a.headers['ratelimit']])).toEqual(Array(10).fill([undefined, undefined]))
  })

  it('counts reads apart from creates, with ten times the rate, and says so', async () => {
    for (let i = 0; i < 3; i++) await createLink(app, body, {}, '10.0.1.5')
    const read = await app.inject({ method: 'GET', url: '/api/v1/links/zzzzzzz', remoteAddress: '10.0.1.5' })
    expect(read.statusCode).toBe(404)
    expect(read.headers['ratelimit-policy']).toBe('"read";q=30;w=60')
    expect(read.headers['ratelimit']).toMatch(/^"read";r=29;t=\d+$/)
    const stats = await app.inject({ method: 'GET', url: '/api/v1/links/zzzzzzz/stats', remoteAddress: '10.0.1.5' })
    expect(stats.headers['ratelimit']).toMatch(/^"read";r=28;t=\d+$/)
    const qr = await app.inject({ method: 'GET', url: '/api/v1/links/zzzzzzz/qr', remoteAddress: '10.0.1.5' })
    expect(qr.headers['ratelimit-policy']).toBe('"qr";q=3;w=60')
  })
})

describe('looking up API keys', () => {
  it('reads Cassandra once per well-formed key in the cache TTL, and never for a malformed one', async () => {
    const { client, sent } = spyOnStatements(infra.cassandra)
    const spied = await startApp(infra, {}, { cassandra: client })
    try {
      const lookups = () => sent.filter((s) => s.cql.includes('FROM api_keys WHERE key_hash')).length
      const bad = { authorization: `Bearer sw_${'b'.repeat(43)}` }
      const answers = await Promise.all(Array.from({ length: 20 }, () => createLink(spied, body, bad, '10.0.2.1')))
      expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(401))
      expect(lookups()).toBe(1)
      for (const authorization of ['Bearer nope', `Bearer sw_${'c'.repeat(42)}`, 'Basic dXNlcjpwdw==']) {
        expect((await createLink(spied, body, { authorization }, '10.0.2.1')).statusCode).toBe(401)
      }
      expect(lookups()).toBe(1)
    } finally {
      await spied.close()
    }
  })
})
