// Quotas per credential, end to end: a real nginx on the shared config in front of the real
// services. An integration's key is limited by its own rate (the service's, in Redis), not by the
// address it calls from; a flood of made-up keys from one address is cut at the edge.
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository, type KeyRate } from '../create-service/src/api-keys.ts'
import { inParallel, startStack, type Stack } from './helpers/stack.ts'
import { localZones, send, startEdge, testEnv, type Edge, type EnvOptions, type Response } from './nginx/edge.ts'

let infra: TestInfra
let stack: Stack

beforeAll(async () => {
  infra = await createTestInfra('quotas')
  // RATE_LIMIT_MAX (startStack's 1000000) is the anonymous and default key rate: every key below has its own.
  stack = await startStack(infra)
})

afterAll(async () => {
  await stack?.close()
  await infra?.close()
})

function edgeWith (rates: Partial<EnvOptions>): Promise<Edge> {
  const host = (url: string) => new URL(url).host
  return startEdge((port) => testEnv({
    port, create: [host(stack.createUrl)], redirect: stack.redirectUrls.map(host), ...rates
  }))
}

async function keyWith (rate: KeyRate, role: 'user' | 'admin' = 'user'): Promise<Record<string, string>> {
  const { secret } = await createApiKeyRepository(infra.cassandra).create('quota test', role, rate)
  return { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
}

const createBody = (i: number) => JSON.stringify({ url: `https://example.com/quota/${i}` })
const post = (edge: Edge, headers: Record<string, string>, i: number, from: string) =>
  send(`${edge.url}/api/v1/links`, { method: 'POST', headers, body: createBody(i), from })
const tally = (answers: Response[]) => answers.reduce<Record<number, number>>((counts, a) => ({
  ...counts, [a.status]: (counts[a.status] ?? 0) + 1
}), {})
const remaining = (answer: Response) => Number(/;r=(\d+);/.exec(String(answer.headers['ratelimit']))?.[1])

describe('quotas per credential, through the edge with the local stack\'s zones (nginx/env/local.conf)', () => {
  let edge: Edge

  beforeAll(async () => {
    edge = await edgeWith({ zones: await localZones() })
  })

  afterAll(async () => {
    await edge?.close()
  })

  it('lets a key of 10,000 a minute create 2,000 links from one address, 50 in flight, without a 429', async () => {
    const auth = await keyWith({ quota: 10_000, windowSeconds: 60 })
    const answers = await inParallel(Array.from({ length: 2000 }, (_, i) => i), 50, (i) => post(edge, auth, i, '127.0.0.30'))
    expect(tally(answers)).toEqual({ 201: 2000 })
    for (const answer of answers) expect(answer.headers['ratelimit-policy']).toBe('"create";q=10000;w=60')
    expect(Math.min(...answers.map(remaining))).toBe(8000)
  }, 120_000)

  it('gives a key of 60 a minute exactly its budget, then 429 from the service with Retry-After and the RateLimit fields', async () => {
    const auth = await keyWith({ quota: 60, windowSeconds: 60 })
    const answers = await inParallel(Array.from({ length: 70 }, (_, i) => i), 10, (i) => post(edge, auth, i, '127.0.0.31'))
    expect(tally(answers)).toEqual({ 201: 60, 429: 10 })
    const created = answers.filter((a) => a.status === 201)
    expect(created.map(remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'SW_RATE_LIMITED', message: expect.stringMatching(/^Too many requests; retry in \d+ (seconds?|minutes?)$/) })
      expect(refused.headers['ratelimit-policy']).toBe('"create";q=60;w=60')
      const [, seconds] = /^"create";r=0;t=(\d+)$/.exec(String(refused.headers['ratelimit']))!
      expect(Number(seconds)).toBeGreaterThan(0)
      expect(Number(seconds)).toBeLessThanOrEqual(60)
      expect(refused.headers['retry-after']).toBe(seconds)
    }
    // Another key at the same address is not affected.
    expect((await post(edge, await keyWith({ quota: 60, windowSeconds: 60 }), 0, '127.0.0.31')).status).toBe(201)
  })

  it('never limits an unlimited admin key at the service, far beyond the anonymous edge limit of its address', async () => {
    const auth = await keyWith(null, 'admin')
    const answers = await inParallel(Array.from({ length: 300 }, (_, i) => i), 20, (i) => post(edge, auth, i, '127.0.0.32'))
    expect(tally(answers)).toEqual({ 201: 300 })
    expect(answers[0]!.headers['ratelimit-policy']).toBeUndefined()
  })
})

describe('a flood of made-up keys from one address', () => {
  // The per-address ceiling (zone api_addr) at one request a minute: exactly its burst of 2000
  // (nginx/shortwave.conf) gets through, whatever the speed of this machine.
  const BURST = 2000
  let edge: Edge

  beforeAll(async () => {
    edge = await edgeWith({ apiAddressRate: '1r/m' })
  })

  afterAll(async () => {
    await edge?.close()
  })

  it('is cut at the edge past the per-address ceiling, while the service stays healthy and serves others', async () => {
    const made = () => ({ authorization: `Bearer sw_${randomBytes(32).toString('base64url')}`, 'content-type': 'application/json' })
    const answers = await inParallel(Array.from({ length: BURST + 100 }, (_, i) => i), 50, (i) => post(edge, made(), i, '127.0.0.40'))
    expect(tally(answers)).toEqual({ 401: BURST + 1, 429: 99 })
    for (const refused of answers.filter((a) => a.status === 429)) {
      // nginx's own answer: the service never saw it.
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'SW_RATE_LIMITED', message: expect.stringMatching(/from your address or API key/) })
      expect(refused.headers['retry-after']).toBe('1')
    }
    expect((await fetch(`${stack.createUrl}/readyz`)).status).toBe(200)
    expect((await post(edge, await keyWith({ quota: 60, windowSeconds: 60 }), 0, '127.0.0.41')).status).toBe(201)
    // A real key from the flooding address waits like the made-up ones: the ceiling is the address's.
    expect((await post(edge, await keyWith({ quota: 60, windowSeconds: 60 }), 0, '127.0.0.40')).status).toBe(429)
  }, 120_000)
})
