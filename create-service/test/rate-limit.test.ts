import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, startApp } from './helpers.ts'

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
