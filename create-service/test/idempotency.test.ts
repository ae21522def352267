import { spyOnStatements } from '@shortwave/testing/cassandra-spy'
import { countActiveLinks, createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson, createIdempotencyStore } from '../src/idempotency.ts'
import { createLink, newApiKey, seedPool, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('cs_idem')
  await seedPool(infra, 200)
  app = await startApp(infra)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

let counter = 0
const freshKey = () => `retry-${Date.now()}-${counter++}`

describe('Idempotency-Key on POST /api/v1/links', () => {
  it('answers a retry with the first answer (status, body, Location) and creates nothing more', async () => {
    const key = freshKey()
    const before = await countActiveLinks(infra.cassandra)
    const first = await createLink(app, { url: 'https://example.com/once' }, { 'idempotency-key': key })
    const second = await createLink(app, { url: 'https://example.com/once' }, { 'idempotency-key': key })
    expect(first.statusCode).toBe(201)
    expect(second.statusCode).toBe(201)
    expect(second.body).toBe(first.body)
    expect(second.headers['location']).toBe(first.headers['location'])
    expect(second.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(second.headers['idempotent-replayed']).toBe('true')
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    expect(await countActiveLinks(infra.cassandra)).toBe(before + 1)
  })

  it('treats the same fields in another order as the same request', async () => {
    const key = freshKey()
    const first = await createLink(app, { url: 'https://example.com/order', ttlSeconds: 600 }, { 'idempotency-key': key })
    const second = await createLink(app, { ttlSeconds: 600, url: 'https://example.com/order' }, { 'idempotency-key': key })
    expect(second.json()).toEqual(first.json())
  })

  it('answers 422 to the same key with a different body, and creates nothing', async () => {
    const key = freshKey()
    expect((await createLink(app, { url: 'https://example.com/first' }, { 'idempotency-key': key })).statusCode).toBe(201)
    const before = await countActiveLinks(infra.cassandra)
    const other = await createLink(app, { url: 'https://example.com/second' }, { 'idempotency-key': key })
    expect(other.statusCode).toBe(422)
    expect(other.json()).toMatchObject({ code: 'SW_IDEMPOTENCY_KEY_REUSED', message: expect.stringMatching(/different request body/) })
    expect(await countActiveLinks(infra.cassandra)).toBe(before)
  })

  it('replays a 409 for a taken alias as well: it was the answer', async () => {
    const alias = `taken-${counter++}`
    expect((await createLink(app, { url: 'https://example.com/owner', alias })).statusCode).toBe(201)
    const key = freshKey()
    const first = await createLink(app, { url: 'https://example.com/late', alias }, { 'idempotency-key': key })
    const retry = await createLink(app, { url: 'https://example.com/late', alias }, { 'idempotency-key': key })
    expect([first.statusCode, retry.statusCode]).toEqual([409, 409])
    expect(retry.body).toBe(first.body)
    expect(retry.headers['idempotent-replayed']).toBe('true')
  })

  it('lets only one of many concurrent duplicates create, and gives them all its answer', async () => {
    const key = freshKey()
    const before = await countActiveLinks(infra.cassandra)
    const responses = await Promise.all(Array.from({ length: 10 }, () =>
      createLink(app, { url: 'https://example.com/concurrent' }, { 'idempotency-key': key })))
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(201))
    expect(new Set(responses.map((r) => r.json().key)).size).toBe(1)
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1)
    expect(await countActiveLinks(infra.cassandra)).toBe(before + 1)
  })

  it('keeps callers apart: another API key or another address with the same key creates its own link', async () => {
    const key = freshKey()
    const [a, b] = await Promise.all([newApiKey(infra), newApiKey(infra)])
    const body = { url: 'https://example.com/shared-key' }
    const results = [
      await createLink(app, body, { 'idempotency-key': key, ...a.auth }),
      await createLink(app, body, { 'idempotency-key': key, ...b.auth }),
      await createLink(app, body, { 'idempotency-key': key }, '10.1.0.1'),
      await createLink(app, body, { 'idempotency-key': key }, '10.1.0.2'),
      await createLink(app, body, { 'idempotency-key': key }, '10.1.0.2')
    ]
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201])
    const keys = results.map((r) => r.json().key)
    expect(new Set(keys.slice(0, 4)).size).toBe(4)
    expect(keys[4]).toBe(keys[3])
  })

  it('keeps the answer in Cassandra for 24 hours', async () => {
    const key = freshKey()
    const first = await createLink(app, { url: 'https://example.com/durable' }, { 'idempotency-key': key })
    const rows = (await infra.cassandra.execute('SELECT status, body, location, TTL(body) AS ttl FROM idempotency_keys')).rows
    const row = rows.find((r) => r['body'] === first.body)
    expect(row).toMatchObject({ status: 201, location: first.headers['location'] })
    expect(row!['ttl']).toBeGreaterThan(86_000)
    expect(row!['ttl']).toBeLessThanOrEqual(86_400)
  })

  it('answers 400 to an Idempotency-Key that is too long or not visible ASCII', async () => {
    const visibleAscii = /idempotency-key must be 1 to 255 visible ASCII characters/
    for (const [key, message] of [['k'.repeat(256), visibleAscii], ['ünïcode', visibleAscii], ['has space', /idempotency-key must not contain spaces or control characters; found a space at position 4/]] as const) {
      const response = await createLink(app, { url: 'https://example.com/x' }, { 'idempotency-key': key })
      expect(response.statusCode).toBe(400)
      expect(response.json().message).toMatch(message)
    }
  })

  it('does not keep a 5xx: a retry after the failure runs again and creates the link', async () => {
    const failing = { links: true }
    // Link writes fail as if Cassandra were down; the idempotency table keeps working.
    const proxy = new Proxy(infra.cassandra, {
      get (target, property) {
        if (property === 'execute') {
          return (query: string, ...rest: unknown[]) => failing.links && /(INTO|UPDATE) links /.test(query)
            ? Promise.reject(new cassandra.errors.NoHostAvailableError({}))
            : (target.execute as (...args: unknown[]) => Promise<unknown>)(query, ...rest)
        }
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    const flaky = await startApp(infra, {}, { cassandra: proxy })
    try {
      const key = freshKey()
      const body = { url: 'https://example.com/after-outage', alias: `outage-${counter++}` }
      expect((await createLink(flaky, body, { 'idempotency-key': key })).statusCode).toBe(503)
      failing.links = false
      const retry = await createLink(flaky, body, { 'idempotency-key': key })
      expect(retry.statusCode).toBe(201)
      expect(retry.headers['idempotent-replayed']).toBeUndefined()
    } finally {
      await flaky.close()
    }
  })

  it('also makes batches idempotent, separately from single creates', async () => {
    const key = freshKey()
    const batch = { links: [{ url: 'https://example.com/b1' }, { url: 'https://example.com/b2' }] }
    const send = () => app.inject({ method: 'POST', url: '/api/v1/links/batch', payload: batch, headers: { 'idempotency-key': key } })
    const first = await send()
    const again = await send()
    expect(first.statusCode).toBe(200)
    expect(again.body).toBe(first.body)
    // The same Idempotency-Key on the single route is another request altogether.
    expect((await createLink(app, { url: 'https://example.com/b1' }, { 'idempotency-key': key })).statusCode).toBe(201)
  })
})

describe('the idempotency store', () => {
  // A driver retry of a Paxos round could apply it twice; a plain read it may send to any node.
  it('lets the driver retry its read on another node, and never a lightweight transaction', async () => {
    const { client, sent } = spyOnStatements(infra.cassandra)
    const store = createIdempotencyStore(client)
    const id = freshKey()
    const reserved = async () => {
      const outcome = await store.begin(id, 'hash', 0)
      if (outcome.kind !== 'reserved') throw new Error(`expected a reservation, got ${outcome.kind}`)
      return outcome.reservation
    }
    const first = await reserved()
    expect((await store.begin(id, 'hash', 150)).kind).toBe('busy')
    await store.release(first)
    expect(await store.complete(await reserved(), { status: 201, body: '{}', location: null })).toBe(true)
    const kinds = sent.map((s) => ({ read: s.cql.startsWith('SELECT'), conditional: / IF /.test(s.cql), idempotent: s.options.isIdempotent === true }))
    expect(kinds.filter((k) => k.read).length).toBeGreaterThan(0)
    expect(kinds.filter((k) => k.conditional).length).toBeGreaterThanOrEqual(5)
    expect(kinds.filter((k) => k.idempotent !== k.read)).toEqual([])
  })
})

describe('canonical JSON', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }, 'x'] })).toBe('{"a":[{"c":null,"d":2},"x"],"b":1}')
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]))
  })
})
