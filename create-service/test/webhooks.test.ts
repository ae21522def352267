import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newApiKey, startApp, type TestKey } from './helpers.ts'

// /api/v1/webhooks through the real app on a real Cassandra: registration, validation, who sees
// what. Delivery is the event-worker's (event-worker/test/).

let infra: TestInfra
let app: FastifyInstance
let alice: TestKey
let bob: TestKey
let admin: TestKey

const RECEIVER = 'https://hooks.example.com/shortwave'

beforeAll(async () => {
  infra = await createTestInfra('cs_webhooks')
  // Not localhost: the loopback targets below are refused as private, not as the shortener's own host.
  app = await startApp(infra, { PUBLIC_BASE_URL: 'http://sw.test' })
  ;[alice, bob, admin] = await Promise.all([newApiKey(infra, 'user', 'alice'), newApiKey(infra, 'user', 'bob'), newApiKey(infra, 'admin', 'ops')])
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

function register (body: unknown, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/api/v1/webhooks', payload: body as object, headers })
}

async function webhookRows (): Promise<number> {
  const [hooks, subscriptions, byCreator] = await Promise.all(['webhooks', 'webhook_subscriptions', 'webhooks_by_creator']
    .map((table) => infra.cassandra.execute(`SELECT * FROM ${table}`)))
  return hooks!.rowLength + subscriptions!.rowLength + byCreator!.rowLength
}

describe('POST /api/v1/webhooks', () => {
  it('answers 201 with a generated Standard Webhooks secret, shown once', async () => {
    const response = await register({ url: RECEIVER, events: ['link.created', 'link.clicked'] }, alice.auth)
    expect(response.statusCode).toBe(201)
    const body = response.json()
    expect(body).toMatchObject({ url: RECEIVER, events: ['link.clicked', 'link.created'], enabled: true, allLinks: false })
    expect(body.id).toMatch(/^wh_[0-9a-f]{32}$/)
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(body.secret.slice(6), 'base64')).toHaveLength(32)
    expect(response.headers['location']).toBe(`/api/v1/webhooks/${body.id}`)

    const read = await app.inject({ method: 'GET', url: `/api/v1/webhooks/${body.id}`, headers: alice.auth })
    expect(read.statusCode).toBe(200)
    expect(read.json()).not.toHaveProperty('secret')
  })

  it('keeps a secret the caller chose when it is in the whsec_ form', async () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`
    const response = await register({ url: RECEIVER, events: ['link.deleted'], secret }, alice.auth)
    expect(response.statusCode).toBe(201)
    expect(response.json().secret).toBe(secret)
  })

  it('marks an admin key\'s webhook as covering every link', async () => {
    const response = await register({ url: RECEIVER, events: ['link.created'] }, admin.auth)
    expect(response.statusCode).toBe(201)
    expect(response.json().allLinks).toBe(true)
  })

  it.each([
    ['no url', { events: ['link.created'] }, /url/],
    ['no events', { url: RECEIVER, events: [] }, /events/],
    ['an unknown event', { url: RECEIVER, events: ['link.exploded'] }, /events/],
    ['a repeated event', { url: RECEIVER, events: ['link.created', 'link.created'] }, /events/],
    ['an unknown field', { url: RECEIVER, events: ['link.created'], retries: 3 }, /retries|additional/],
    ['a secret without the prefix', { url: RECEIVER, events: ['link.created'], secret: 'hunter2hunter2' }, /whsec_/],
    ['a secret too short', { url: RECEIVER, events: ['link.created'], secret: `whsec_${Buffer.alloc(8).toString('base64')}` }, /24 to 64/],
    ['a javascript: url', { url: 'javascript:alert(1)', events: ['link.created'] }, /url/]
  ])('answers 400 for %s and writes nothing', async (_what, body, message) => {
    const before = await webhookRows()
    const response = await register(body, bob.auth)
    expect(response.statusCode).toBe(400)
    expect(response.json().message).toMatch(message)
    expect(await webhookRows()).toBe(before)
  })

  it.each([
    'http://127.0.0.1:9000/hook', 'http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]/hook',
    'http://100.64.0.1/hook', 'http://[fd00::1]/hook', 'http://localhost/hook'
  ])('refuses the non-public target %s with 400 and writes nothing', async (url) => {
    const before = await webhookRows()
    const response = await register({ url, events: ['link.created'] }, bob.auth)
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('SW_URL_PRIVATE_TARGET')
    expect(await webhookRows()).toBe(before)
  })

  it('accepts a private target the operator allows by network', async () => {
    const allowing = await startApp(infra, { ALLOWED_TARGET_NETWORKS: '127.0.0.0/8', PUBLIC_BASE_URL: 'http://sw.test' })
    try {
      const response = await allowing.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url: 'http://127.0.0.1:9000/hook', events: ['link.created'] }, headers: bob.auth })
      expect(response.statusCode).toBe(201)
    } finally {
      await allowing.close()
    }
  })

  it('answers 401 without an API key', async () => {
    const response = await register({ url: RECEIVER, events: ['link.created'] }, {})
    expect(response.statusCode).toBe(401)
  })
})

describe('who sees a webhook', () => {
  it('lists only the caller\'s webhooks, and hides another key\'s from reads, edits and deletes', async () => {
    const mine = (await register({ url: RECEIVER, events: ['link.updated'] }, bob.auth)).json().id as string
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: bob.auth })).json()
    expect(listed.webhooks.map((w: { id: string }) => w.id)).toContain(mine)
    const alices = (await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: alice.auth })).json()
    expect(alices.webhooks.map((w: { id: string }) => w.id)).not.toContain(mine)

    for (const [method, url] of [['GET', ''], ['GET', '/deliveries'], ['DELETE', '']] as const) {
      const response = await app.inject({ method, url: `/api/v1/webhooks/${mine}${url}`, headers: alice.auth })
      expect(response.statusCode).toBe(404)
      expect(response.json().code).toBe('SW_WEBHOOK_NOT_FOUND')
    }
    const patch = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${mine}`, payload: { enabled: false }, headers: alice.auth })
    expect(patch.statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: `/api/v1/webhooks/${mine}`, headers: bob.auth })).json().enabled).toBe(true)
  })

  it('lets the owner disable, re-enable and delete its webhook', async () => {
    const id = (await register({ url: RECEIVER, events: ['link.updated'] }, bob.auth)).json().id as string
    const off = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: { enabled: false }, headers: bob.auth })
    expect(off.json()).toMatchObject({ enabled: false, disabledReason: 'disabled by its owner' })
    const on = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${id}`, payload: { enabled: true }, headers: bob.auth })
    expect(on.json()).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null })
    expect((await app.inject({ method: 'GET', url: `/api/v1/webhooks/${id}/deliveries`, headers: bob.auth })).json()).toEqual({ deliveries: [] })

    expect((await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${id}`, headers: bob.auth })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: `/api/v1/webhooks/${id}`, headers: bob.auth })).statusCode).toBe(404)
    const subscribed = await infra.cassandra.execute('SELECT webhook_id FROM webhook_subscriptions WHERE event_type = ?', ['link.updated'], { prepare: true })
    expect(subscribed.rows.map((row) => row['webhook_id'])).not.toContain(id)
  })

  it('answers 404 for an id that is not a webhook id', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/webhooks/nope', headers: bob.auth })
    expect(response.statusCode).toBe(404)
  })
})

describe('the outbox', () => {
  const queued = async (key: string, type: string): Promise<number> =>
    (await infra.cassandra.execute('SELECT scoped_key, event_type FROM webhook_queue')).rows
      .filter((r) => r['scoped_key'] === key && r['event_type'] === type).length
  const createAndDelete = async (headers: Record<string, string>): Promise<string> => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/links', payload: { url: 'https://example.com/outbox' }, headers })
    expect(created.statusCode).toBe(201)
    const key = created.json().key as string
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers })).statusCode).toBe(204)
    return key
  }

  it('holds the event of a change some webhook wants, and none of one nobody wants', async () => {
    const carol = await newApiKey(infra, 'user', 'carol')
    const dave = await newApiKey(infra, 'user', 'dave')
    // No webhook wants deletes but Carol's, from the moment it is registered.
    expect((await register({ url: RECEIVER, events: ['link.deleted'] }, carol.auth)).statusCode).toBe(201)
    expect(await queued(await createAndDelete(carol.auth), 'link.deleted')).toBe(1)
    expect(await queued(await createAndDelete(dave.auth), 'link.deleted')).toBe(0)
  })
})
