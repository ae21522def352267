import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, send, sendRaw, startEdge, startStandIn, testEnv, WEB_ROOT, type Edge, type StandIn } from './edge.ts'

const GENERATED_ID = /^[0-9a-f]{32}$/

/** The path of the page's script, as web/build.ts named it (a hash of its content). */
async function pageScript (): Promise<string> {
  const page = await readFile(join(WEB_ROOT, 'index.html'), 'utf8')
  const script = /<script type="module" src="(\/static\/assets\/main-[A-Z0-9]+\.js)">/.exec(page)?.[1]
  if (script === undefined) throw new Error('index.html names no hashed page script')
  return script
}

describe('nginx edge: routing, headers, errors', () => {
  let create: StandIn
  let redirect: StandIn
  let edge: Edge

  beforeAll(async () => {
    create = await startStandIn('create')
    redirect = await startStandIn('redirect')
    edge = await startEdge((port) => testEnv({ port, create: [create.address], redirect: [redirect.address] }))
  })

  afterAll(async () => {
    await edge?.close()
    await create?.close()
    await redirect?.close()
  })

  function echoed (response: { body: string }): { name: string, url: string, headers: Record<string, string> } {
    return JSON.parse(response.body)
  }

  describe('routing', () => {
    it('sends /api/... to create-service with the path unchanged', async () => {
      const response = await send(`${edge.url}/api/v1/links/abc/stats?x=1`)
      expect(response.status).toBe(200)
      expect(echoed(response)).toMatchObject({ name: 'create', url: '/api/v1/links/abc/stats?x=1' })
    })

    it('sends /{key} to redirect-service', async () => {
      const response = await send(`${edge.url}/Xk3p9Qa`, { method: 'GET' })
      expect(echoed(response)).toMatchObject({ name: 'redirect', url: '/Xk3p9Qa' })
    })

    it('serves the web page at exactly /, from web/dist/, without asking an upstream', async () => {
      const before = create.received.length + redirect.received.length
      const response = await send(`${edge.url}/`)
      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(response.body).toBe(await readFile(join(WEB_ROOT, 'index.html'), 'utf8'))
      expect(create.received.length + redirect.received.length).toBe(before)
    })

    it('sends / of any other host (a custom domain, or one served by no domain) to redirect-service, Host intact', async () => {
      for (const host of ['go.example', 'unknown.example:8080']) {
        const response = await send(`${edge.url}/`, { headers: { host } })
        expect(echoed(response)).toMatchObject({ name: 'redirect', url: '/', headers: { host: host.replace(/:\d+$/, '') } })
      }
      // The default domain's names still get the page, whatever the port or case.
      const page = await send(`${edge.url}/`, { headers: { host: 'LOCALHOST:8080' } })
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    })

    it('passes the Host of a key\'s request through, for redirect-service to pick the domain', async () => {
      const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { host: 'Go.Example' } })
      expect(echoed(response)).toMatchObject({ name: 'redirect', url: '/Xk3p9Qa', headers: { host: 'go.example' } })
    })

    it('serves the page script as JavaScript, cached for a year (its name changes with its content), gzipped on request', async () => {
      const script = await pageScript()
      const response = await send(`${edge.url}${script}`)
      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/javascript/)
      expect(response.headers['cache-control']).toBe('max-age=31536000')
      expect(response.body).toBe(await readFile(join(WEB_ROOT, script), 'utf8'))
      const zipped = await send(`${edge.url}${script}`, { headers: { 'accept-encoding': 'gzip' } })
      expect(zipped.headers['content-encoding']).toBe('gzip')
      expect(zipped.headers['vary']).toBe('Accept-Encoding')
    })

    it('serves the stable-named files (the 404 page\'s stylesheet) revalidated every time', async () => {
      const response = await send(`${edge.url}/static/app.css`)
      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/css/)
      expect(response.headers['cache-control']).toBe('no-cache')
    })

    it('answers a missing static file with a JSON 404, not the redirect-service', async () => {
      const before = redirect.received.length
      const response = await send(`${edge.url}/static/nope.js`)
      expect(response.status).toBe(404)
      expect(JSON.parse(response.body)).toEqual({ statusCode: 404, error: 'Not Found', message: 'No such path' })
      expect(redirect.received.length).toBe(before)
    })

    it('keeps its internal error pages internal', async () => {
      const response = await send(`${edge.url}/-/error/502`)
      expect(response.status).toBe(404)
      expect(JSON.parse(response.body)).toMatchObject({ statusCode: 404, message: 'No such path' })
    })

    it.each([
      '/healthz', '/readyz', '/metrics', '/api/healthz', '/api/readyz', '/api/metrics',
      '/%68ealthz', '//metrics', '/api/v1/../../readyz', '/api/../api/metrics'
    ])('never exposes the services\' operational endpoint %s (404 JSON, no upstream)', async (path) => {
      const before = create.received.length + redirect.received.length
      const response = await send(`${edge.url}${path}`)
      expect(response.status).toBe(404)
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
      const body = JSON.parse(response.body)
      expect(body).toMatchObject({ statusCode: 404, error: 'Not Found' })
      expect(body.message).toMatch(/^Route GET \/(api\/)?(healthz|readyz|metrics) not found$/)
      expect(create.received.length + redirect.received.length).toBe(before)
    })
  })

  // The id is also the trace id (nginx.conf: $sw_trace_id); tests/nginx/trace-context.test.ts has
  // the traceparent side.
  describe('X-Request-Id', () => {
    it('generates one when the client sent none, passes it upstream and returns it', async () => {
      const response = await send(`${edge.url}/api/v1/links/k`)
      const id = response.headers['x-request-id']
      expect(id).toMatch(GENERATED_ID)
      expect(echoed(response).headers['x-request-id']).toBe(id)
    })

    it('keeps a client id that is a trace id (32 lowercase hex)', async () => {
      const id = randomBytes(16).toString('hex')
      const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { 'x-request-id': id } })
      expect(response.headers['x-request-id']).toBe(id)
      expect(echoed(response).headers['x-request-id']).toBe(id)
    })

    it.each([
      ['any other shape', 'client-42.abc:DEF_9'],
      ['capitals', '4BF92F3577B34DA6A3CE929D0E0E4736'],
      ['zeros only', '0'.repeat(32)],
      ['33 digits', `${'a'.repeat(32)}1`],
      ['markup', '<script>alert(1)</script>'],
      ['300 characters', 'a'.repeat(300)],
      ['spaces and quotes', 'a b"c']
    ])('replaces a client id made of %s with a generated one', async (_what, id) => {
      const response = await send(`${edge.url}/api/v1/links/k`, { headers: { 'x-request-id': id } })
      expect(response.headers['x-request-id']).toMatch(GENERATED_ID)
      expect(response.headers['x-request-id']).not.toBe(id)
      expect(echoed(response).headers['x-request-id']).toBe(response.headers['x-request-id'])
    })

    it('returns exactly one id, hiding the one an upstream sends back', async () => {
      const id = randomBytes(16).toString('hex')
      const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { 'x-request-id': id } })
      expect(response.headers['x-request-id']).toBe(id)
    })

    it('returns the id on the errors nginx answers itself', async () => {
      const id = randomBytes(16).toString('hex')
      const response = await send(`${edge.url}/healthz`, { headers: { 'x-request-id': id } })
      expect(response.headers['x-request-id']).toBe(id)
    })
  })

  it('overwrites X-Forwarded-For and X-Real-IP with the client address (no spoofing)', async () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 10.0.0.1', 'x-real-ip': '6.6.6.6' }
    for (const path of ['/api/v1/links/k', '/Xk3p9Qa']) {
      const seen = echoed(await send(`${edge.url}${path}`, { headers })).headers
      expect(seen['x-forwarded-for']).toBe('127.0.0.1')
      expect(seen['x-real-ip']).toBe('127.0.0.1')
    }
  })

  it('refuses a body over 16 KB with a JSON 413 before it reaches create-service', async () => {
    const before = create.received.length
    const response = await send(`${edge.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/${'x'.repeat(17 * 1024)}` })
    })
    expect(response.status).toBe(413)
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(response.body)).toMatchObject({ statusCode: 413, error: 'Payload Too Large' })
    expect(create.received.length).toBe(before)
  })

  describe('requests nginx cannot take answer in the same JSON shape', () => {
    it('a malformed request: 400', async () => {
      const raw = await sendRaw(edge.port, 'GET /Xk3p9Qa HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')
      expect(raw).toMatch(/^HTTP\/1\.1 400 /)
      expect(raw).toContain('\r\nContent-Type: application/json; charset=utf-8\r\n')
      expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe('{"statusCode":400,"error":"Bad Request","message":"The request is malformed"}')
    })

    it('an over-long request line: 414', async () => {
      const response = await send(`${edge.url}/${'a'.repeat(9000)}`)
      expect(response.status).toBe(414)
      expect(JSON.parse(response.body)).toMatchObject({ statusCode: 414, error: 'URI Too Long' })
    })

    it('an over-long header: 431', async () => {
      const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { 'x-big': 'a'.repeat(9000) } })
      expect(response.status).toBe(431)
      expect(JSON.parse(response.body)).toMatchObject({ statusCode: 431, error: 'Request Header Fields Too Large' })
    })

    it.each(['/', 'the page script', '/static/app.css'])('a POST to the page or its assets (%s): 405 with Allow: GET, HEAD', async (which) => {
      const path = which === 'the page script' ? await pageScript() : which
      const response = await send(`${edge.url}${path}`, { method: 'POST', body: 'x' })
      expect(response.status).toBe(405)
      expect(response.headers['allow']).toBe('GET, HEAD')
      expect(JSON.parse(response.body)).toEqual({
        statusCode: 405,
        error: 'Method Not Allowed',
        message: 'This method is not allowed here; this path answers GET, HEAD',
        code: 'SW_METHOD_NOT_ALLOWED'
      })
    })

    it.each([
      ['/api/v1/links?limit=5', 'GET, HEAD, POST'],
      ['/api/v1/links/batch', 'POST'],
      ['/api/v1/links/Xk3p9Qa', 'GET, HEAD, PATCH, DELETE'],
      ['/api/v1/links/Xk3p9Qa/stats', 'GET, HEAD, DELETE'],
      ['/api/v1/stats?by=link', 'GET, HEAD'],
      ['/api/v1/me', 'GET, HEAD'],
      ['/api/v1/keys', 'GET, HEAD, POST'],
      ['/api/v1/keys/ak_0123456789abcdef', 'PATCH, DELETE'],
      ['/api/docs/json', 'GET, HEAD'],
      ['/Xk3p9Qa', 'GET, HEAD']
    ])('TRACE %s: 405 with the methods the path answers, without asking a service', async (path, allow) => {
      const before = create.received.length + redirect.received.length
      const response = await send(`${edge.url}${path}`, { method: 'TRACE' })
      expect(response.status).toBe(405)
      expect(response.headers['allow']).toBe(allow)
      expect(JSON.parse(response.body)).toMatchObject({ message: `This method is not allowed here; this path answers ${allow}` })
      expect(create.received.length + redirect.received.length).toBe(before)
      // Only a 405 names them.
      expect((await send(`${edge.url}${path}`)).headers['allow']).toBeUndefined()
    })

    it('/api without the slash: 404, not a redirect to /api/', async () => {
      const response = await send(`${edge.url}/api`)
      expect(response.status).toBe(404)
      expect(JSON.parse(response.body)).toEqual({ statusCode: 404, error: 'Not Found', message: 'Route GET /api not found' })
    })
  })

  it('passes a body under the limit through', async () => {
    const response = await send(`${edge.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/${'x'.repeat(15 * 1024)}` })
    })
    expect(response.status).toBe(200)
  })

  describe('the services\' own answers pass through untouched', () => {
    it.each([400, 401, 403, 404, 409, 415, 429])('create-service %i', async (status) => {
      const response = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: { 'x-stand-in': `status=${status} retry-after=60` } })
      expect(response.status).toBe(status)
      expect(JSON.parse(response.body)).toEqual({ statusCode: status, error: 'From the service', message: `create says ${status}`, code: 'SW_STAND_IN' })
      // nginx adds no Retry-After of its own next to the service's.
      expect(response.headers['retry-after']).toBe('60')
    })

    it('redirect-service 404', async () => {
      const response = await send(`${edge.url}/Nope123`, { headers: { 'x-stand-in': 'status=404' } })
      expect(response.status).toBe(404)
      expect(JSON.parse(response.body)).toMatchObject({ message: 'redirect says 404' })
    })

    it('a service\'s 405 with its own Allow, and no second one', async () => {
      const response = await send(`${edge.url}/api/v1/links`, { method: 'PUT', headers: { 'x-stand-in': 'status=405 allow=GET,POST' } })
      expect(response.status).toBe(405)
      expect(JSON.parse(response.body)).toMatchObject({ message: 'create says 405' })
      expect(response.headers['allow']).toBe('GET,POST')
    })

    it('a service\'s 503 with its own Retry-After', async () => {
      const response = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: { 'x-stand-in': 'status=503 retry-after=7' } })
      expect(response.status).toBe(503)
      expect(JSON.parse(response.body)).toMatchObject({ message: 'create says 503' })
      expect(response.headers['retry-after']).toBe('7')
    })
  })

  describe('security headers', () => {
    it('puts a strict Content-Security-Policy and anti-framing headers on the page', async () => {
      const { headers } = await send(`${edge.url}/`)
      const csp = String(headers['content-security-policy'])
      expect(csp).toContain("default-src 'none'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).not.toContain('unsafe-inline')
      expect(headers['x-frame-options']).toBe('DENY')
      expect(headers['x-content-type-options']).toBe('nosniff')
      expect(headers['referrer-policy']).toBe('no-referrer')
      expect(headers['x-request-id']).toMatch(GENERATED_ID)
    })

    it('has a page whose scripts and styles are all files (the policy allows no inline code)', async () => {
      const html = await readFile(join(WEB_ROOT, 'index.html'), 'utf8')
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
      for (const asset of html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)) {
        expect((await send(`${edge.url}${asset[1]}`)).status, asset[1]).toBe(200)
      }
    })

    it('sends nosniff everywhere, but no Referrer-Policy on proxied answers (a redirect would pass it on)', async () => {
      const { headers } = await send(`${edge.url}/Xk3p9Qa`)
      expect(headers['x-content-type-options']).toBe('nosniff')
      expect(headers['referrer-policy']).toBeUndefined()
      expect(headers['server']).toBe('nginx')
    })
  })

  it('writes one JSON access-log line per request, with the request id, sampling and upstream timing, not the address or user agent', async () => {
    const id = randomBytes(16).toString('hex')
    await send(`${edge.url}/api/v1/links/k?q=1`, { headers: { 'x-request-id': id, 'user-agent': 'edge-test' } })
    const lines = await eventually(async () => {
      const found = (await edge.accessLog()).filter((line) => line['request_id'] === id)
      return found.length > 0 ? found : undefined
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      request_id: id,
      client_net: '127.0.0.0/24',
      method: 'GET',
      uri: '/api/v1/links/k?q=1',
      status: 200,
      upstream_addr: create.address,
      upstream_status: '200',
      trace_flags: '01'
    })
    const { upstream_addr: upstream, ...client } = lines[0]!
    expect(upstream).toBe(create.address)
    expect(JSON.stringify(client)).not.toMatch(/127\.0\.0\.1|edge-test/)
    expect(lines[0]!['time']).toEqual(expect.any(String))
    expect(lines[0]!['request_time']).toEqual(expect.any(Number))
    expect(lines[0]!['upstream_response_time']).toMatch(/^\d+\.\d{3}$/)
  })
})
