import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send, startEdge, startStandIn, testEnv, type Edge, type Response, type SendOptions, type StandIn } from './edge.ts'

// One request a minute per client: every request beyond the burst (40 for /api/, 400 for the
// rest, in nginx/shortwave.conf) is refused whatever the speed of this machine. Each test
// sends from its own loopback address, i.e. its own client bucket.
const BURST = { api: 40, redirect: 400 }

async function sendMany (url: string, count: number, opts: SendOptions): Promise<Response[]> {
  const responses: Response[] = []
  for (let i = 0; i < count; i += 20) {
    const batch = Array.from({ length: Math.min(20, count - i) }, () => send(url, opts))
    responses.push(...await Promise.all(batch))
  }
  return responses
}

function expectTooManyRequests (response: Response): void {
  expect(response.status).toBe(429)
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(JSON.parse(response.body)).toEqual({
    statusCode: 429,
    error: 'Too Many Requests',
    message: 'Too many requests from your address; retry in a second',
    code: 'SW_RATE_LIMITED'
  })
  expect(response.headers['retry-after']).toBe('1')
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/)
}

describe('nginx edge: per-client rate limits', () => {
  let create: StandIn
  let redirect: StandIn
  let edge: Edge

  beforeAll(async () => {
    create = await startStandIn('create')
    redirect = await startStandIn('redirect')
    edge = await startEdge((port) => testEnv({
      port,
      create: [create.address],
      redirect: [redirect.address],
      apiRate: '1r/m',
      redirectRate: '1r/m'
    }))
  })

  afterAll(async () => {
    await edge?.close()
    await create?.close()
    await redirect?.close()
  })

  it('answers 429 JSON with Retry-After on /api/ past the burst, without reaching create-service', async () => {
    const from = '127.0.0.2'
    const responses = await sendMany(`${edge.url}/api/v1/links`, BURST.api + 10, { method: 'POST', from })
    const passed = responses.filter((r) => r.status === 200)
    const refused = responses.filter((r) => r.status !== 200)
    expect(passed.length).toBeGreaterThan(0)
    expect(passed.length).toBeLessThanOrEqual(BURST.api + 1)
    expect(refused.length).toBeGreaterThanOrEqual(9)
    for (const response of refused) expectTooManyRequests(response)
    expect(create.received.filter((r) => r.headers['x-real-ip'] === from)).toHaveLength(passed.length)
  })

  it('keeps counting the real address when the client claims another one', async () => {
    const from = '127.0.0.3'
    await sendMany(`${edge.url}/api/v1/links/k`, BURST.api + 1, { from })
    const spoofed = await send(`${edge.url}/api/v1/links/k`, { from, headers: { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' } })
    expectTooManyRequests(spoofed)
  })

  it('limits /api/ and redirects separately: an API-limited client still gets redirects', async () => {
    const from = '127.0.0.4'
    await sendMany(`${edge.url}/api/v1/links/k`, BURST.api + 1, { from })
    expectTooManyRequests(await send(`${edge.url}/api/v1/links/k`, { from }))
    expect((await send(`${edge.url}/Xk3p9Qa`, { from })).status).toBe(200)
  })

  it('limits redirects (looser: a larger burst) against key enumeration', async () => {
    const from = '127.0.0.5'
    const responses = await sendMany(`${edge.url}/Xk3p9Qa`, BURST.redirect + 10, { from })
    const passed = responses.filter((r) => r.status === 200)
    const refused = responses.filter((r) => r.status !== 200)
    expect(passed.length).toBeGreaterThan(BURST.api + 1)
    expect(passed.length).toBeLessThanOrEqual(BURST.redirect + 1)
    expect(refused.length).toBeGreaterThanOrEqual(9)
    for (const response of refused) expectTooManyRequests(response)
    expect(redirect.received.filter((r) => r.headers['x-real-ip'] === from)).toHaveLength(passed.length)
  })

  it('applies the redirect limit to the page too, answering with the same JSON', async () => {
    const from = '127.0.0.6'
    await sendMany(`${edge.url}/`, BURST.redirect + 1, { from })
    expectTooManyRequests(await send(`${edge.url}/`, { from }))
  })
})
