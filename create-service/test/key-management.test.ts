import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository, hashSecret, type ApiKey } from '../src/api-keys.ts'
import { createCallerLookup } from '../src/caller.ts'
import { newApiKey, startApp, type TestKey } from './helpers.ts'

// /api/v1/me and /api/v1/keys through the real app on a real Cassandra and Redis: who may do what,
// what is shown (never a secret), what bad input leaves behind (nothing), and how soon a key
// revoked over HTTP stops working, here and on another replica.

let infra: TestInfra
let app: FastifyInstance
let user: TestKey
let admin: TestKey

beforeAll(async () => {
  infra = await createTestInfra('cs_keymgmt')
  // The default cache TTL (5 s): a revoked key refused on its next request is the eviction's doing.
  app = await startApp(infra)
  user = await newApiKey(infra, 'user', 'alice', { quota: 6000, windowSeconds: 60 })
  admin = await newApiKey(infra, 'admin', 'ops', null)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
function api (method: Method, url: string, headers: Record<string, string> = {}, body?: unknown, target = app) {
  return target.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) })
}

/** Both API key tables, as they are stored. */
async function storedKeys (): Promise<string> {
  const [byHash, byId] = await Promise.all(['api_keys', 'api_keys_by_id'].map((table) => infra.cassandra.execute(`SELECT * FROM ${table}`)))
  const rows = [...byHash!.rows, ...byId!.rows].map((row) => JSON.stringify(row)).sort()
  return rows.join('\n')
}

async function create (body: unknown, headers = admin.auth) {
  const response = await api('POST', '/api/v1/keys', headers, body)
  expect(response.statusCode).toBe(201)
  const made = response.json() as { id: string, secret: string }
  return { ...made, auth: { authorization: `Bearer ${made.secret}` } }
}

describe('GET /api/v1/me', () => {
  it('answers the calling key: id, name, role and rate as the CLI shows it', async () => {
    const me = await api('GET', '/api/v1/me', user.auth)
    expect(me.statusCode).toBe(200)
    expect(me.json()).toEqual({ id: user.id, name: 'alice', role: 'user', rate: '6000/min' })
    expect(me.headers['ratelimit-policy']).toBe('"read";q=60000;w=60')
    expect((await api('GET', '/api/v1/me', admin.auth)).json()).toEqual({ id: admin.id, name: 'ops', role: 'admin', rate: 'unlimited' })
    const plain = await newApiKey(infra, 'user', 'plain')
    expect((await api('GET', '/api/v1/me', plain.auth)).json()).toMatchObject({ rate: 'default' })
  })

  it('answers 401 without a key, and with a malformed, unknown or revoked one', async () => {
    const anonymous = await api('GET', '/api/v1/me')
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Bearer')
    expect(anonymous.json()).toMatchObject({ code: 'SW_UNAUTHORIZED', message: expect.stringMatching(/an API key is required to read \/api\/v1\/me/) })
    const revoked = await newApiKey(infra, 'user', 'gone')
    await createApiKeyRepository(infra.cassandra).revoke(revoked.id)
    for (const authorization of ['Bearer sw_nope', `Bearer sw_${'x'.repeat(43)}`, `Basic ${user.secret}`, `Bearer ${revoked.secret}`]) {
      expect((await api('GET', '/api/v1/me', { authorization })).statusCode).toBe(401)
    }
  })
})

describe('GET /api/v1/keys', () => {
  it('lists every key oldest first, revoked ones included, and never a secret or its hash', async () => {
    const made = await create({ name: 'listed' })
    const response = await api('GET', '/api/v1/keys', admin.auth)
    expect(response.statusCode).toBe(200)
    const { keys } = response.json() as { keys: Array<{ id: string, createdAt: string }> }
    expect(keys.find((k) => k.id === made.id)).toEqual({
      id: made.id, name: 'listed', role: 'user', rate: 'default', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), revokedAt: null
    })
    expect(keys.map((k) => k.id)).toEqual(expect.arrayContaining([user.id, admin.id, made.id]))
    expect(keys.map((k) => k.createdAt)).toEqual(keys.map((k) => k.createdAt).sort())
    for (const secret of [made.secret, user.secret, admin.secret]) {
      expect(response.body).not.toContain(secret)
      expect(response.body).not.toContain(secret.slice(3, 20))
      expect(response.body).not.toContain(hashSecret(secret))
    }
    expect(response.body).not.toMatch(/secret|hash/i)
  })
})

describe('POST /api/v1/keys', () => {
  it('answers 201 with the key and its secret, which works at once; a user key by default', async () => {
    const response = await api('POST', '/api/v1/keys', admin.auth, { name: 'dashboard' })
    expect(response.statusCode).toBe(201)
    const made = response.json()
    expect(made).toEqual({
      id: expect.stringMatching(/^ak_[0-9a-f]{16}$/),
      name: 'dashboard',
      role: 'user',
      rate: 'default',
      createdAt: expect.any(String),
      revokedAt: null,
      secret: expect.stringMatching(/^sw_[A-Za-z0-9_-]{43}$/)
    })
    expect(await storedKeys()).not.toContain(made.secret)
    const me = await api('GET', '/api/v1/me', { authorization: `Bearer ${made.secret}` })
    expect(me.json()).toEqual({ id: made.id, name: 'dashboard', role: 'user', rate: 'default' })
  })

  it('takes a role and a rate; an admin key may be unlimited', async () => {
    const shop = await create({ name: 'shop', rate: '10000/min' })
    expect((await api('GET', '/api/v1/me', shop.auth)).json()).toMatchObject({ role: 'user', rate: '10000/min' })
    const ci = await create({ name: 'ci', role: 'admin', rate: 'unlimited' })
    expect((await api('GET', '/api/v1/me', ci.auth)).json()).toMatchObject({ role: 'admin', rate: 'unlimited' })
    // The new admin key manages keys itself.
    expect((await api('GET', '/api/v1/keys', ci.auth)).statusCode).toBe(200)
  })

  it.each([
    [{}, 'name is required'],
    [{ name: '' }, 'name must not be empty'],
    // The common hint for a character nobody sees (validation-messages.ts): spaces inside are fine.
    [{ name: ' padded' }, 'name must not contain spaces or control characters; found a space at position 1'],
    [{ name: 'x'.repeat(64) + 'é' }, 'name must be at most 64 characters long'],
    [{ name: 'café' }, 'name must be 1 to 64 printable ASCII characters'],
    [{ name: 'x'.repeat(65) }, 'name must be at most 64 characters long'],
    [{ name: 'tab\there' }, 'found a tab at position 4'],
    [{ name: 42 }, 'name must be a string'],
    [{ name: 'x', role: 'root' }, 'role must be one of user, admin'],
    [{ name: 'x', rate: '60/fortnight' }, 'rate must be a count per s, min, h or day'],
    [{ name: 'x', rate: 600 }, 'rate must be a string'],
    [{ name: 'x', rate: 'unlimited' }, 'only admin keys may be unlimited'],
    [{ name: 'x', rate: '999999999/min' }, 'the rate must be a count per s, min, h or day'],
    [{ name: 'x', secret: `sw_${'a'.repeat(43)}` }, '"secret" is not a known field; the fields are name, role, rate']
  ])('answers 400 to %j, naming the problem, and stores nothing', async (body, message) => {
    const before = await storedKeys()
    const response = await api('POST', '/api/v1/keys', admin.auth, body)
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toContain(message)
    expect(await storedKeys()).toBe(before)
  })

  it('answers 415 to a body that is not JSON, and 400 to broken JSON, storing nothing', async () => {
    const before = await storedKeys()
    const text = await api('POST', '/api/v1/keys', { ...admin.auth, 'content-type': 'text/plain' }, 'name=x')
    expect(text.statusCode).toBe(415)
    const broken = await api('POST', '/api/v1/keys', { ...admin.auth, 'content-type': 'application/json' }, '{"name":')
    expect(broken.statusCode).toBe(400)
    expect(await storedKeys()).toBe(before)
  })
})

describe('who may manage keys', () => {
  const routes: Array<[Method, string, unknown?]> = [
    ['GET', '/api/v1/keys'],
    ['POST', '/api/v1/keys', { name: 'sneaky', role: 'admin' }],
    ['PATCH', '/api/v1/keys/ID', { rate: 'unlimited' }],
    ['DELETE', '/api/v1/keys/ID']
  ]

  it.each(routes)('%s %s: 401 without a key, 403 with a user key, and nothing changes', async (method, path, body) => {
    const before = await storedKeys()
    const url = path.replace('ID', admin.id)
    const anonymous = await api(method, url, {}, body)
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Bearer')
    const forbidden = await api(method, url, user.auth, body)
    expect(forbidden.statusCode).toBe(403)
    expect(forbidden.json()).toMatchObject({ code: 'SW_FORBIDDEN', message: 'only an admin API key may manage API keys' })
    expect(await storedKeys()).toBe(before)
  })
})

describe('DELETE /api/v1/keys/{id}', () => {
  it('revokes the key: 204, refused on its very next request, listed with revokedAt', async () => {
    const doomed = await create({ name: 'doomed' })
    expect((await api('GET', '/api/v1/me', doomed.auth)).statusCode).toBe(200)
    const revoked = await api('DELETE', `/api/v1/keys/${doomed.id}`, admin.auth)
    expect(revoked.statusCode).toBe(204)
    expect(revoked.body).toBe('')
    // Cached as valid a moment ago, for 5 s: the revocation dropped this replica's answer.
    const next = await api('GET', '/api/v1/me', doomed.auth)
    expect(next.statusCode).toBe(401)
    expect(next.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
    const listed = (await api('GET', '/api/v1/keys', admin.auth)).json().keys.find((k: { id: string }) => k.id === doomed.id)
    expect(listed.revokedAt).toMatch(/^\d{4}-/)

    // Idempotent: a second revoke is a 204 too, and keeps the first revocation's time.
    expect((await api('DELETE', `/api/v1/keys/${doomed.id}`, admin.auth)).statusCode).toBe(204)
    expect((await api('GET', '/api/v1/keys', admin.auth)).json().keys.find((k: { id: string }) => k.id === doomed.id).revokedAt).toBe(listed.revokedAt)
  })

  it('answers 404 for an unknown id, and 409 for the key the request carries, which keeps working', async () => {
    const before = await storedKeys()
    const unknown = await api('DELETE', '/api/v1/keys/ak_0000000000000000', admin.auth)
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ code: 'SW_API_KEY_NOT_FOUND', message: 'No API key with the id "ak_0000000000000000"' })
    expect((await api('DELETE', `/api/v1/keys/${'x'.repeat(100)}`, admin.auth)).statusCode).toBe(404)
    expect((await api('DELETE', `/api/v1/keys/${'x'.repeat(101)}`, admin.auth)).statusCode).toBe(400)

    const own = await api('DELETE', `/api/v1/keys/${admin.id}`, admin.auth)
    expect(own.statusCode).toBe(409)
    expect(own.json()).toMatchObject({ code: 'SW_OWN_API_KEY', message: expect.stringMatching(/An API key cannot revoke itself/) })
    expect(await storedKeys()).toBe(before)
    expect((await api('GET', '/api/v1/me', admin.auth)).statusCode).toBe(200)
  })

  it('is refused by another replica within API_KEY_CACHE_TTL_MS, as after the CLI', async () => {
    const [first, second] = await Promise.all([1, 2].map(() => startApp(infra, { API_KEY_CACHE_TTL_MS: '300' })))
    try {
      const doomed = await create({ name: 'two replicas' }, admin.auth)
      // Both replicas have it cached as valid.
      expect((await api('GET', '/api/v1/me', doomed.auth, undefined, first)).statusCode).toBe(200)
      expect((await api('GET', '/api/v1/me', doomed.auth, undefined, second)).statusCode).toBe(200)
      const revokedAt = Date.now()
      expect((await api('DELETE', `/api/v1/keys/${doomed.id}`, admin.auth, undefined, first)).statusCode).toBe(204)
      expect((await api('GET', '/api/v1/me', doomed.auth, undefined, first)).statusCode).toBe(401)
      let status = 200
      while (status !== 401 && Date.now() - revokedAt < 5000) {
        status = (await api('GET', '/api/v1/me', doomed.auth, undefined, second)).statusCode
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      expect(status).toBe(401)
      expect(Date.now() - revokedAt).toBeLessThan(1500)
    } finally {
      await Promise.all([first!.close(), second!.close()])
    }
  })
})

describe('PATCH /api/v1/keys/{id}', () => {
  it('changes the rate, applied on this replica at once', async () => {
    const key = await create({ name: 'tuned' })
    expect((await api('GET', '/api/v1/me', key.auth)).json().rate).toBe('default')
    const changed = await api('PATCH', `/api/v1/keys/${key.id}`, admin.auth, { rate: '600/h' })
    expect(changed.statusCode).toBe(200)
    expect(changed.json()).toEqual({ id: key.id, name: 'tuned', role: 'user', rate: '600/h', createdAt: expect.any(String), revokedAt: null })
    const me = await api('GET', '/api/v1/me', key.auth)
    expect(me.json().rate).toBe('600/h')
    expect(me.headers['ratelimit-policy']).toBe('"read";q=6000;w=3600')
    expect((await api('PATCH', `/api/v1/keys/${key.id}`, admin.auth, { rate: 'default' })).json().rate).toBe('default')
  })

  it.each([
    ['ak_0000000000000000', { rate: '10/min' }, 404, 'No API key with the id'],
    ['USER', { rate: 'unlimited' }, 400, 'only admin keys may be unlimited'],
    ['USER', {}, 400, 'rate is required'],
    ['USER', { rate: 'fast' }, 400, 'rate must be'],
    ['USER', { rate: '10/min', role: 'admin' }, 400, '"role" is not a known field']
  ])('%s %j: %i, and nothing changes', async (id, body, status, message) => {
    const before = await storedKeys()
    const response = await api('PATCH', `/api/v1/keys/${id.replace('USER', user.id)}`, admin.auth, body)
    expect(response.statusCode).toBe(status)
    expect(response.json().message).toContain(message)
    expect(await storedKeys()).toBe(before)
  })
})

describe('caller lookup forget', () => {
  const key = (id: string): ApiKey => ({ id, name: id, role: 'user', rate: 'default', createdAt: new Date(), revokedAt: null })
  const secretOf = (c: string) => `sw_${c.repeat(43)}`

  it('drops the answers of one key and reads still running, keeping the others', async () => {
    const reads: string[] = []
    let release = () => {}
    const pending = new Promise<void>((resolve) => { release = resolve })
    const byHash = new Map([[hashSecret(secretOf('a')), 'ak_a'], [hashSecret(secretOf('b')), 'ak_b'], [hashSecret(secretOf('c')), 'ak_c']])
    const lookup = createCallerLookup(async (hash) => {
      reads.push(byHash.get(hash)!)
      if (byHash.get(hash) === 'ak_c') await pending
      return key(byHash.get(hash)!)
    }, { ttlMs: 60_000, max: 10 })
    await lookup(secretOf('a'))
    await lookup(secretOf('b'))
    const running = lookup(secretOf('c'))
    lookup.forget('ak_a')
    release()
    await running
    await Promise.all([lookup(secretOf('a')), lookup(secretOf('b')), lookup(secretOf('c'))])
    expect(reads).toEqual(['ak_a', 'ak_b', 'ak_c', 'ak_a', 'ak_c'])
  })
})
