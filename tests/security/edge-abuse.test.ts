// Abuse of the edge itself, through a real nginx (the shared config) in front of the real
// services: oversized requests, slow clients, forged client addresses, key enumeration.
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send, type Edge } from '../nginx/edge.ts'
import { inParallel, startStack, type Stack } from '../helpers/stack.ts'
import { create, edgeInFront } from './helpers.ts'

const RATE_LIMIT_MAX = 5

let infra: TestInfra
let stack: Stack
let edge: Edge

beforeAll(async () => {
  infra = await createTestInfra('sec_edge')
  stack = await startStack(infra, { env: { RATE_LIMIT_MAX: String(RATE_LIMIT_MAX) } })
  // Redirects: 1 r/s with the shared burst of 400 (nginx/shortwave.conf), so that one test client
  // outruns it however slow the machine (locally it is 200 r/s, nginx/env/local.conf). Creates
  // are limited by the service.
  edge = await edgeInFront(stack, { redirectRate: '1r/s' })
})

afterAll(async () => {
  await edge?.close()
  await stack?.close()
  await infra?.close()
})

const createBody = JSON.stringify({ url: 'https://example.com/limited' })
const createHeaders = (extra: Record<string, string>) => ({ 'content-type': 'application/json', ...extra })

describe('oversized requests', () => {
  it('answers an over-long header with a JSON 431 at the edge', async () => {
    const answer = await send(`${edge.url}/some-key`, { headers: { 'x-big': 'a'.repeat(10_000) } })
    expect(answer.status).toBe(431)
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 431 })
  })

  it('answers headers that pass nginx but exceed what Node takes (16 KB) without a 5xx', async () => {
    const headers = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`x-big-${i}`, 'a'.repeat(7000)]))
    const answer = await send(`${edge.url}/api/v1/links/some-key`, { headers })
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
  })

  it('answers an over-long request line with a JSON 414 at the edge', async () => {
    const answer = await send(`${edge.url}/${'a'.repeat(9000)}`)
    expect(answer.status).toBe(414)
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 414 })
  })

  it('answers a long path that nginx lets through with a JSON 4xx from the service, never a 5xx', async () => {
    for (const [path, status] of [['a'.repeat(3000), 404], [`${'a/'.repeat(1000)}x`, 404], [`api/v1/links/${'a'.repeat(3000)}`, 414]] as const) {
      const answer = await send(`${edge.url}/${path}`)
      expect({ path: path.slice(0, 20), status: answer.status, body: JSON.parse(answer.body) })
        .toMatchObject({ path: path.slice(0, 20), status, body: { statusCode: status } })
    }
  })

  it('answers a body over the limit with a JSON 413', async () => {
    const answer = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: createHeaders({}), body: JSON.stringify({ url: `https://example.com/${'a'.repeat(20_000)}` }) })
    expect(answer.status).toBe(413)
  })
})

/**
 * Opens a connection, writes `raw`, then sends nothing more; resolves with what came back and when
 * the server hung up.
 */
function stall (raw: string): Promise<{ closedAfterMs: number, received: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(edge.port, '127.0.0.1', () => socket.write(raw))
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => { received += chunk })
    socket.on('error', () => {}) // a reset is one way of being hung up on
    socket.on('close', () => resolve({ closedAfterMs: Date.now() - started, received }))
    setTimeout(() => { socket.destroy(); reject(new Error('the edge kept a stalled connection open for 30 s')) }, 30_000)
  })
}

describe('slow clients (slow-loris)', () => {
  it('hangs up on a body that stops arriving, and on headers that never end, without involving a service', async () => {
    const [body, headers] = await Promise.all([
      stall('POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"url":"https://exa'),
      stall('GET /some-key HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n')
    ])
    // client_body_timeout / client_header_timeout (nginx/nginx.conf): 10 s.
    expect(body.closedAfterMs).toBeGreaterThanOrEqual(9_000)
    expect(headers.closedAfterMs).toBeGreaterThanOrEqual(9_000)
    expect(body.received).not.toMatch(/^HTTP\/1\.1 (2|5)/)
    expect(headers.received).not.toMatch(/^HTTP\/1\.1 (2|5)/)
    // nginx reads the whole body before it proxies: the stalled POST never reached create-service.
    const stalled = (await edge.accessLog()).filter((line) => line['method'] === 'POST' && line['status'] === 408)
    expect(stalled.map((line) => line['upstream_addr'])).toEqual([''])
  }, 40_000)
})

describe('methods a path does not answer', () => {
  it('get the same Allow from nginx (TRACE, refused at the edge) as from the services, on every path of the API', async () => {
    const document = JSON.parse((await send(`${edge.url}/api/docs/json`)).body) as { paths: Record<string, unknown> }
    const paths = [...Object.keys(document.paths).map((path) => path.replaceAll(/\{\w+\}/g, 'Xk3p9Qa')), '/api/docs', '/api/docs/json', '/Xk3p9Qa']
    expect(paths).toContain('/api/v1/links/batch')
    const answers = await Promise.all(paths.map(async (path) => {
      const atTheEdge = await send(`${edge.url}${path}`, { method: 'TRACE', from: '127.0.0.12' })
      // No route takes PUT: nginx passes it on, and the service itself refuses it.
      const fromTheService = await send(`${edge.url}${path}`, { method: 'PUT', from: '127.0.0.12' })
      return {
        path,
        edge: { status: atTheEdge.status, allow: atTheEdge.headers['allow'] },
        service: { status: fromTheService.status, allow: fromTheService.headers['allow'], code: JSON.parse(fromTheService.body)['code'] }
      }
    }))
    for (const { path, edge, service } of answers) {
      expect({ path, ...service }).toEqual({ path, status: 405, allow: expect.any(String), code: 'SW_METHOD_NOT_ALLOWED' })
      expect({ path, ...edge }).toEqual({ path, status: 405, allow: service.allow })
    }
  })
})

describe('forged client addresses cannot escape the rate limit', () => {
  const forged = () => {
    const ip = `198.51.100.${randomBytes(1)[0]}`
    return { 'x-forwarded-for': ip, 'x-real-ip': ip, forwarded: `for=${ip}`, 'true-client-ip': ip, 'cf-connecting-ip': ip }
  }

  it('through nginx: a client that claims a new address on every request is still one client', async () => {
    const statuses: number[] = []
    for (let i = 0; i < RATE_LIMIT_MAX + 3; i++) {
      statuses.push((await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: createHeaders(forged()), body: createBody, from: '127.0.0.5' })).status)
    }
    expect(statuses).toEqual([...Array(RATE_LIMIT_MAX).fill(201), 429, 429, 429])
    // Another real address has its own budget: the limit above is per client, not global.
    expect((await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: createHeaders({}), body: createBody, from: '127.0.0.7' })).status).toBe(201)
  })

  it('directly: a client that is not the proxy is not believed either', async () => {
    const statuses: number[] = []
    for (let i = 0; i < RATE_LIMIT_MAX + 2; i++) {
      statuses.push((await send(`${stack.createUrl}/api/v1/links`, { method: 'POST', headers: createHeaders(forged()), body: createBody, from: '127.0.0.6' })).status)
    }
    expect(statuses).toEqual([...Array(RATE_LIMIT_MAX).fill(201), 429, 429])
  })
})

describe('key enumeration', () => {
  it('limits one client that walks the key space, while others keep following links', async () => {
    const link = await create(edge.url, { url: 'https://example.com/enumerated' }, {})
    expect(link.status).toBe(201)
    const guesses = Array.from({ length: 600 }, () => randomBytes(6).toString('base64url').replace(/[-_]/g, 'x'))
    const statuses = await inParallel(guesses, 50, async (guess) => (await send(`${edge.url}/${guess}`, { from: '127.0.0.8' })).status)
    const counts = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]))
    expect(Object.keys(counts).sort()).toEqual(['404', '429'])
    expect(counts['429']).toBeGreaterThan(100)
    const other = await send(`${edge.url}/${link.json()['key'] as string}`, { from: '127.0.0.9' })
    expect(other.status).toBe(302)
  })

  it('answers an expired link 410 at the redirect, and to strangers in the API like a key that never existed', async () => {
    const link = await create(edge.url, { url: 'https://example.com/short-lived', ttlSeconds: 1 }, {})
    const key = link.json()['key'] as string
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const unknown = 'Zz' + key.slice(2)
    const ask = (path: string) => Promise.all([
      send(`${edge.url}/${path}${key}`, { from: '127.0.0.10' }), send(`${edge.url}/${path}${unknown}`, { from: '127.0.0.10' })
    ])
    // The contract (design.md, "Lifecycle at redirect time") says gone rather than unknown; the
    // answer still echoes nothing of the request.
    const [gone] = await ask('')
    expect(gone.status).toBe(410)
    expect(gone.body).not.toContain(key)
    const [expired, never] = await ask('api/v1/links/')
    expect(expired.status).toBe(404)
    expect(expired.body.replaceAll(key, 'KEY')).toBe(never.body.replaceAll(unknown, 'KEY'))
  })
})
