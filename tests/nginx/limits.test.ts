import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, send, startEdge, startStandIn, testEnv, type Edge, type Response, type SendOptions, type StandIn } from './edge.ts'

// One request a minute per client: every request beyond the burst (40 for /api/, 400 for the
// rest, in nginx/shortwave.conf) is refused whatever the speed of this machine. Each test
// sends from its own loopback address, i.e. its own client bucket.
const BURST = { api: 40, redirect: 400 }
// Requests in progress per client address: limit_conn in nginx/nginx.conf.
const IN_PROGRESS = 100

async function sendMany (url: string, count: number, opts: SendOptions): Promise<Response[]> {
  const responses: Response[] = []
  for (let i = 0; i < count; i += 20) {
    const batch = Array.from({ length: Math.min(20, count - i) }, () => send(url, opts))
    responses.push(...await Promise.all(batch))
  }
  return responses
}

const TOO_MANY = {
  statusCode: 429,
  error: 'Too Many Requests',
  message: 'Too many requests at once from your address or API key; retry in a second',
  code: 'SW_RATE_LIMITED'
}

function expectTooManyRequests (response: Response): void {
  expect(response.status).toBe(429)
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(JSON.parse(response.body)).toEqual(TOO_MANY)
  expect(response.headers['retry-after']).toBe('1')
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/)
}

/**
 * `count` connections from `from`, each a POST whose body trickles in (a byte a second, never
 * finishing): requests held open, as a slow-body attack holds them, all with the X-Request-Id
 * `id`. `answers` collects what nginx sent back on each connection.
 */
function holdRequests (
  port: number,
  count: number,
  from: string,
  id: string
): { answers: string[], close: () => void } {
  const sockets: Socket[] = []
  const answers: string[] = []
  for (let i = 0; i < count; i++) {
    answers.push('')
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => {
      socket.write(`POST /Xk3p9Qa HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`)
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { answers[i] = (answers[i] ?? '') + chunk })
    socket.on('error', () => {}) // nginx may reset a refused connection once it has answered
    sockets.push(socket)
  }
  const trickle = setInterval(() => { for (const socket of sockets) if (socket.writable) socket.write(' ') }, 1000)
  return {
    answers,
    close () {
      clearInterval(trickle)
      for (const socket of sockets) socket.destroy()
    }
  }
}

/** A whole response: the headers, and as much body as Content-Length says. */
function complete (raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n')
  const length = /\r\ncontent-length: (\d+)\r\n/i.exec(raw)
  return end >= 0 && length !== null && raw.length - end - 4 >= Number(length[1])
}

describe('nginx edge: per-client limits', () => {
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

  it('answers requests beyond 100 in progress from one address with 429 JSON and Retry-After, while others are served', async () => {
    const from = '127.0.0.20'
    // One id for all of them (a trace id, which nginx keeps); the refused one below gets its own.
    const heldId = randomBytes(16).toString('hex')
    const held = holdRequests(edge.port, IN_PROGRESS + 10, from, heldId)
    const ids = new Set([heldId])
    try {
      // Held requests are never released (their bodies keep coming), so exactly the 10 beyond
      // the limit are refused, whichever order nginx took them in. (All of them are well within
      // the redirect burst of 400: limit_req lets every one in.)
      const refused = await eventually(async () => {
        const answered = held.answers.filter((raw) => raw !== '')
        return answered.length >= 10 && answered.every(complete) ? answered : undefined
      }, 15_000)
      expect(refused).toHaveLength(10)
      for (const raw of refused) {
        expect(raw).toMatch(/^HTTP\/1\.1 429 /)
        expect(raw).toMatch(/\r\nRetry-After: 1\r\n/)
        expect(raw).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/)
        expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual(TOO_MANY)
      }
      // While they are held, a new request from that address is refused at once; another
      // address is served.
      const beyond = await send(`${edge.url}/Xk3p9Qa`, { from })
      expectTooManyRequests(beyond)
      ids.add(beyond.headers['x-request-id'] as string)
      expect((await send(`${edge.url}/Xk3p9Qa`, { from: '127.0.0.21' })).status).toBe(200)
      expect(held.answers.filter((raw) => raw !== '')).toHaveLength(10)
      // nginx reads a body before it proxies: no held request reached a service.
      expect(redirect.received.filter((r) => r.headers['x-real-ip'] === from)).toEqual([])
    } finally {
      held.close()
    }
    // Logged once they end (the refused ones too: nginx waits out their bodies): limit_conn
    // tells its refusals apart from limit_req's.
    const log = await eventually(async () => {
      // The log has the address's network only (no personal data at rest); the request id tells these apart.
      const lines = (await edge.accessLog()).filter((line) => ids.has(line['request_id'] as string))
      return lines.length >= IN_PROGRESS + 11 ? lines : undefined
    })
    const tally = (status: unknown) => log.filter((line) => line['limit_conn'] === status).length
    expect({ passed: tally('PASSED'), refused: tally('REJECTED') }).toEqual({ passed: IN_PROGRESS, refused: 11 })
    expect(log.filter((line) => line['limit_conn'] === 'REJECTED').every((line) => line['status'] === 429)).toBe(true)
  }, 30_000)
})
