import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../create-service/src/api-keys.ts'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { startManagedStack, waitFor, type Stack } from './helpers/stack.ts'

// Custom domains (design.md, "Domains") through the real services: two registered domains besides
// the default one, two redirect replicas sharing one Redis and one Cassandra, requests told apart
// by nothing but their Host header.
type Json = Record<string, any>

interface Answer { status: number, location: string | null, body: string }

/** A GET (or HEAD) with a Host of our choosing (fetch does not let one set it). */
function hostGet (base: string, path: string, host: string, method = 'GET'): Promise<Answer> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { host, accept: 'application/json' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('custom domains', () => {
  let infra: TestInfra
  let stack: Stack
  let user: Record<string, string>
  let admin: Record<string, string>
  const A = 'a.domains.test'
  const B = 'b.domains.test'

  type Reply = { status: number, body: Json }
  async function api (method: string, path: string, body?: unknown, auth = user): Promise<Reply> {
    const response = await fetch(`${stack.createUrl}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === '' ? {} : JSON.parse(text) as Json }
  }

  const onBoth = (path: string, host: string): Promise<Answer[]> =>
    Promise.all(stack.redirectUrls.map((base) => hostGet(base, path, host)))

  /** Waits until every replica answers the path on the host as `expected` says (the bound promised: 5 s). */
  async function servedWithin5s (path: string, host: string, expected: (a: Answer) => boolean, what: string) {
    await waitFor(what, async () => (await onBoth(path, host)).every(expected), 5000)
  }

  beforeAll(async () => {
    infra = await createTestInfra('e2e_domains')
    ;({ stack, auth: user } = await startManagedStack(infra, { env: { CLICK_FLUSH_INTERVAL_MS: '200', CLICK_FOLD_INTERVAL_MS: '200' } }))
    const { secret } = await createApiKeyRepository(infra.cassandra).create('e2e-admin', 'admin')
    admin = { authorization: `Bearer ${secret}` }
    expect((await api('POST', '/api/v1/domains', {
      host: A, rootRedirect: 'https://example.com/a-home', notFoundRedirect: 'https://example.com/a-missing'
    }, admin)).status).toBe(201)
    expect((await api('POST', '/api/v1/domains', { host: B.toUpperCase() + '.' }, admin)).status).toBe(201)
    await servedWithin5s('/', A, (a) => a.status === 302, 'both replicas to serve the new domains')
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  it('registers domains for admins only, and refuses bad input naming the field with nothing changed', async () => {
    const before = (await api('GET', '/api/v1/domains')).body
    expect(before.domains).toEqual([
      { host: 'sw.test', default: true, rootRedirect: null, notFoundRedirect: null, createdAt: null },
      expect.objectContaining({ host: A, default: false, rootRedirect: 'https://example.com/a-home' }),
      expect.objectContaining({ host: B, default: false, rootRedirect: null, notFoundRedirect: null })
    ])
    expect((await api('POST', '/api/v1/domains', { host: 'c.domains.test' }, {})).status).toBe(401)
    const forbidden = await api('POST', '/api/v1/domains', { host: 'c.domains.test' }, user)
    expect(forbidden.status).toBe(403)
    expect(forbidden.body['code']).toBe('SW_FORBIDDEN')
    const taken = await api('POST', '/api/v1/domains', { host: A }, admin)
    expect([taken.status, taken.body['code']]).toEqual([409, 'SW_DOMAIN_EXISTS'])
    for (const host of ['c.domains.test:8080', 'https://c.domains.test', '10.0.0.1', 'c..test', 'c.domains.test/x']) {
      const bad = await api('POST', '/api/v1/domains', { host }, admin)
      expect([bad.status, bad.body['code']], host).toEqual([400, 'SW_INVALID_DOMAIN'])
      expect(bad.body['message']).toMatch(/^host /)
    }
    for (const field of ['rootRedirect', 'notFoundRedirect']) {
      for (const url of ['ftp://example.com/', 'http://127.0.0.1/admin', 'http://sw.test/loop']) {
        const bad = await api('POST', '/api/v1/domains', { host: 'c.domains.test', [field]: url }, admin)
        expect(bad.status, `${field} ${url}`).toBe(400)
        expect(bad.body['message']).toContain(field)
      }
    }
    const extra = await api('POST', '/api/v1/domains', { host: 'c.domains.test', owner: 'me' }, admin)
    expect(extra.status).toBe(400)
    const isDefault = await api('POST', '/api/v1/domains', { host: 'SW.test' }, admin)
    expect([isDefault.status, isDefault.body['code']]).toEqual([409, 'SW_DEFAULT_DOMAIN'])
    expect((await api('GET', '/api/v1/domains')).body).toEqual(before)
    const undeletable = await api('DELETE', '/api/v1/domains/sw.test', undefined, admin)
    expect([undeletable.status, undeletable.body['code']]).toEqual([409, 'SW_DEFAULT_DOMAIN'])
    expect((await api('DELETE', `/api/v1/domains/${A}`, undefined, user)).status).toBe(403)
    expect((await api('DELETE', '/api/v1/domains/nope.domains.test', undefined, admin)).status).toBe(404)
    expect((await api('GET', '/api/v1/domains')).body).toEqual(before)
  })

  it('serves one alias on three domains, each to its own target, by Host alone on both replicas', async () => {
    const alias = `same-${Date.now().toString(36)}`
    const onDefault = await api('POST', '/api/v1/links', { url: 'https://example.com/default', alias })
    const onA = await api('POST', '/api/v1/links', { url: 'https://example.com/on-a', alias, domain: A.toUpperCase() })
    const onB = await api('POST', '/api/v1/links', { url: 'https://example.com/on-b', alias, domain: B })
    expect([onDefault.status, onA.status, onB.status]).toEqual([201, 201, 201])
    expect(onDefault.body).toMatchObject({ key: alias, domain: 'sw.test', shortUrl: `http://sw.test/${alias}` })
    expect(onA.body).toMatchObject({ key: alias, domain: A, shortUrl: `http://${A}/${alias}` })
    expect(onB.body).toMatchObject({ key: alias, domain: B, shortUrl: `http://${B}/${alias}` })
    // The alias is taken on A now, and only there.
    const again = await api('POST', '/api/v1/links', { url: 'https://example.com/x', alias, domain: A })
    expect([again.status, again.body['code']]).toEqual([409, 'SW_ALIAS_TAKEN'])

    for (const [host, target] of [['127.0.0.1', 'default'], [A, 'on-a'], [`${B.toUpperCase()}:8080`, 'on-b'], ['localhost.', 'default']]) {
      for (const answer of await onBoth(`/${alias}`, host!)) {
        expect([answer.status, answer.location], host).toEqual([302, `https://example.com/${target}`])
      }
    }
    const read = await api('GET', `/api/v1/links/${alias}?domain=${B}`)
    expect(read.body).toMatchObject({ url: 'https://example.com/on-b', domain: B })
    expect((await api('GET', `/api/v1/links/${alias}?domain=sw.test`)).body['url']).toBe('https://example.com/default')
    const qr = await fetch(`${stack.createUrl}/api/v1/links/${alias}/qr?domain=${A}`)
    expect(qr.status).toBe(200)
  })

  it('gives a generated key on a domain without making it a link of the default domain', async () => {
    const created = await api('POST', '/api/v1/links', { url: 'https://example.com/generated', domain: A })
    expect(created.status).toBe(201)
    const key = created.body['key'] as string
    expect(created.body['shortUrl']).toBe(`http://${A}/${key}`)
    expect((await hostGet(stack.redirectUrl, `/${key}`, A)).location).toBe('https://example.com/generated')
    expect((await hostGet(stack.redirectUrl, `/${key}`, '127.0.0.1')).status).toBe(404)
    expect((await api('GET', `/api/v1/links/${key}`)).status).toBe(404)
    // The key's default row is held (leased or reserved), never activated: no other create gets it.
    const row = (await infra.cassandra.execute('SELECT state, url FROM links WHERE bucket = ? AND key = ?', [key.slice(0, 3), key], { prepare: true })).first()
    expect(row?.['url'] ?? null).toBeNull()
    expect(['leased', 'reserved']).toContain(row?.['state'])
    // Batch: the same rules per item; an unknown domain fails that item alone, naming the field.
    const batch = await api('POST', '/api/v1/links/batch', { links: [{ url: 'https://example.com/b1', domain: B }, { url: 'https://example.com/b2', domain: 'nope.domains.test' }] })
    expect(batch.status).toBe(200)
    expect(batch.body['results'][0]).toMatchObject({ status: 201, link: { domain: B } })
    expect(batch.body['results'][1]).toMatchObject({ status: 400, error: { code: 'SW_INVALID_DOMAIN' } })
    expect(batch.body['results'][1].error.message).toMatch(/^domain "nope.domains.test"/)
  })

  it('refuses an unknown domain on create (400 naming domain, nothing stored) and on a path (404)', async () => {
    const alias = `unknown-${Date.now().toString(36)}`
    const refused = await api('POST', '/api/v1/links', { url: 'https://example.com/x', alias, domain: 'nope.domains.test' })
    expect([refused.status, refused.body['code']]).toEqual([400, 'SW_INVALID_DOMAIN'])
    expect(refused.body['message']).toMatch(/^domain /)
    // Nothing was claimed: the alias is free on the default domain and on A.
    expect((await api('POST', '/api/v1/links', { url: 'https://example.com/x', alias })).status).toBe(201)
    expect((await api('POST', '/api/v1/links', { url: 'https://example.com/x', alias, domain: A })).status).toBe(201)
    for (const path of [`/api/v1/links/${alias}`, `/api/v1/links/${alias}/stats`, `/api/v1/links/${alias}/history`]) {
      const missing = await api('GET', `${path}?domain=nope.domains.test`)
      expect([missing.status, missing.body['code']], path).toEqual([404, 'SW_DOMAIN_NOT_FOUND'])
    }
    expect((await api('DELETE', `/api/v1/links/${alias}?domain=nope.domains.test`)).status).toBe(404)
    // Not a host name at all: a bad parameter, named.
    const malformed = await api('GET', `/api/v1/links/${alias}?domain=not_a_host`)
    expect([malformed.status, malformed.body['code'], malformed.body['message']]).toEqual([400, 'SW_INVALID_DOMAIN', 'domain "not_a_host" is not a host name'])
    expect((await api('GET', `/api/v1/links/${alias}`)).status).toBe(200)
  })

  it('answers unknown hosts 404, and a domain\'s root and unknown keys with its own redirects', async () => {
    for (const answer of await onBoth('/anything', 'unknown.domains.test')) {
      expect(answer.status).toBe(404)
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'SW_DOMAIN_NOT_FOUND' })
    }
    expect((await hostGet(stack.redirectUrl, '/', 'unknown.domains.test')).status).toBe(404)
    expect(await hostGet(stack.redirectUrl, '/', A)).toMatchObject({ status: 302, location: 'https://example.com/a-home' })
    expect(await hostGet(stack.redirectUrl, '/no-such-key', A)).toMatchObject({ status: 302, location: 'https://example.com/a-missing' })
    expect((await hostGet(stack.redirectUrl, '/', B)).status).toBe(404)
    const missing = await hostGet(stack.redirectUrl, '/no-such-key', B)
    expect([missing.status, JSON.parse(missing.body).code]).toEqual([404, 'SW_LINK_NOT_FOUND'])
  })

  it('sends an edit and a delete on a domain to both replicas within 5 s, leaving the same key elsewhere alone', async () => {
    const alias = `hot-${Date.now().toString(36)}`
    await api('POST', '/api/v1/links', { url: 'https://example.com/default-hot', alias })
    await api('POST', '/api/v1/links', { url: 'https://example.com/b-old', alias, domain: B })
    // Hot in every layer of both replicas.
    for (let i = 0; i < 3; i++) for (const a of await onBoth(`/${alias}`, B)) expect(a.location).toBe('https://example.com/b-old')
    const edited = await api('PATCH', `/api/v1/links/${alias}?domain=${B}`, { url: 'https://example.com/b-new' })
    expect(edited.status).toBe(200)
    expect(edited.body).toMatchObject({ domain: B, url: 'https://example.com/b-new', shortUrl: `http://${B}/${alias}` })
    await servedWithin5s(`/${alias}`, B, (a) => a.location === 'https://example.com/b-new', 'the edit on both replicas')
    const history = await api('GET', `/api/v1/links/${alias}/history?domain=${B}`)
    expect(history.body['edits']).toHaveLength(1)
    expect((await api('GET', `/api/v1/links/${alias}/history`)).body['edits']).toHaveLength(0)

    expect((await api('DELETE', `/api/v1/links/${alias}?domain=${B}`)).status).toBe(204)
    await servedWithin5s(`/${alias}`, B, (a) => a.status === 404, 'the delete on both replicas')
    for (const a of await onBoth(`/${alias}`, 'localhost')) expect(a.location).toBe('https://example.com/default-hot')
    expect((await api('GET', `/api/v1/links/${alias}`)).status).toBe(200)
  })

  it('counts clicks per domain', async () => {
    const alias = `clicks-${Date.now().toString(36)}`
    for (const domain of [undefined, A, B]) {
      expect((await api('POST', '/api/v1/links', { url: 'https://example.com/c', alias, ...(domain ? { domain } : {}) })).status).toBe(201)
    }
    for (let i = 0; i < 3; i++) await hostGet(stack.redirectUrls[i % 2]!, `/${alias}`, A)
    await hostGet(stack.redirectUrls[1]!, `/${alias}`, B)
    const clicksOn = async (query: string): Promise<number> => (await api('GET', `/api/v1/links/${alias}/stats${query}`)).body['clicks'] as number
    await waitFor('the clicks to be folded', async () => await clicksOn(`?domain=${A}`) === 3 && await clicksOn(`?domain=${B}`) === 1, 15_000)
    expect(await clicksOn('')).toBe(0)
    expect((await api('GET', `/api/v1/links/${alias}?domain=${A}`)).body['clicks']).toBe(3)
  })

  it('keeps the click cap, idempotency and the loop check per domain', async () => {
    const alias = `capped-${Date.now().toString(36)}`
    for (const domain of [A, B]) {
      expect((await api('POST', '/api/v1/links', { url: 'https://example.com/capped', alias, domain, maxClicks: 1 })).status).toBe(201)
    }
    expect((await hostGet(stack.redirectUrls[0]!, `/${alias}`, A)).status).toBe(302)
    expect((await hostGet(stack.redirectUrls[1]!, `/${alias}`, A)).status).toBe(410)
    // B's cap is its own: its one click is still there, on either replica.
    expect((await hostGet(stack.redirectUrls[1]!, `/${alias}`, B)).status).toBe(302)
    expect((await hostGet(stack.redirectUrls[0]!, `/${alias}`, B)).status).toBe(410)

    const once = { 'idempotency-key': `dom-${alias}` }
    const body = { url: 'https://example.com/once', domain: A }
    const first = await api('POST', '/api/v1/links', body, { ...user, ...once })
    const again = await api('POST', '/api/v1/links', body, { ...user, ...once })
    expect(first.status).toBe(201)
    expect(again.body).toEqual(first.body)
    const elsewhere = await api('POST', '/api/v1/links', { ...body, domain: B }, { ...user, ...once })
    expect([elsewhere.status, elsewhere.body['code']]).toEqual([422, 'SW_IDEMPOTENCY_KEY_REUSED'])

    // A link to a registered domain would redirect to the shortener itself.
    const loop = await api('POST', '/api/v1/links', { url: `https://${A.toUpperCase()}/${alias}` })
    expect([loop.status, loop.body['code']]).toEqual([400, 'SW_INVALID_URL'])
  })

  it('lists a user\'s links of every domain, each with its own short URL', async () => {
    const alias = `listed-${Date.now().toString(36)}`
    await api('POST', '/api/v1/links', { url: 'https://example.com/l', alias, domain: A })
    await api('POST', '/api/v1/links', { url: 'https://example.com/l', alias })
    const page = await api('GET', '/api/v1/links?limit=2')
    expect(page.body['links'].map((l: Json) => l['shortUrl'])).toEqual([`http://sw.test/${alias}`, `http://${A}/${alias}`])
  })

  it('keeps a removed domain\'s links unreachable, and brings them back when the host is registered again', async () => {
    const C = 'c.domains.test'
    expect((await api('POST', '/api/v1/domains', { host: C }, admin)).status).toBe(201)
    const alias = `removed-${Date.now().toString(36)}`
    expect((await api('POST', '/api/v1/links', { url: 'https://example.com/on-c', alias, domain: C })).status).toBe(201)
    await servedWithin5s(`/${alias}`, C, (a) => a.status === 302, 'the link on C')
    expect((await api('DELETE', `/api/v1/domains/${C}`, undefined, admin)).status).toBe(204)
    await servedWithin5s(`/${alias}`, C, (a) => a.status === 404 && a.body.includes('SW_DOMAIN_NOT_FOUND'), 'C to be gone')
    expect((await api('GET', `/api/v1/links/${alias}?domain=${C}`)).status).toBe(404)
    expect((await api('POST', '/api/v1/links', { url: 'https://example.com/x', domain: C })).status).toBe(400)
    expect((await api('POST', '/api/v1/domains', { host: C }, admin)).status).toBe(201)
    await servedWithin5s(`/${alias}`, C, (a) => a.location === 'https://example.com/on-c', 'C to be back')
  })
})
