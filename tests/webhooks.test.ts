// Webhooks end to end: create-service writes the events, the key-worker the click events, the
// event-worker delivers them to a real HTTP receiver on this machine, all on the test's own
// keyspace. The receiver is on loopback, which the operator allows here (ALLOWED_TARGET_NETWORKS).
import { loadConfig } from '@shortwave/common/config'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../create-service/src/api-keys.ts'
import { buildApp as buildEventWorker } from '../event-worker/src/app.ts'
import { configSchema as eventWorkerSchema } from '../event-worker/src/config.ts'
import { startStack, waitFor, type Stack } from './helpers/stack.ts'
import { answers, startReceiver, type Receiver } from './helpers/webhook-receiver.ts'

const ALLOW = { ALLOWED_TARGET_NETWORKS: '127.0.0.0/8', PUBLIC_BASE_URL: 'http://sw.test' }

let infra: TestInfra
let stack: Stack
let worker: FastifyInstance
let receiver: Receiver

beforeAll(async () => {
  infra = await createTestInfra('webhooks')
  receiver = await startReceiver()
  stack = await startStack(infra, { env: { ...ALLOW, CLICK_FOLD_INTERVAL_MS: '200', CLICK_FLUSH_INTERVAL_MS: '200' } })
  worker = await buildEventWorker(loadConfig(eventWorkerSchema, {
    ...infra.env,
    ...ALLOW,
    WORKER_ID: 'webhooks-test',
    EVENT_POLL_INTERVAL_MS: '50',
    EVENT_LEASE_SECONDS: '3',
    DELIVERY_TIMEOUT_MS: '8000',
    DELIVERY_BACKOFF_BASE_MS: '100',
    DELIVERY_BACKOFF_MAX_MS: '400',
    DELIVERY_CONCURRENCY_PER_ENDPOINT: '2'
  }), { cassandra: infra.cassandra, logger: false })
  await worker.ready()
})

afterAll(async () => {
  await receiver?.close()
  await worker?.close()
  await stack?.close()
  await infra?.close()
})

async function apiKey (name: string, role: 'user' | 'admin' = 'user'): Promise<Record<string, string>> {
  const { secret } = await createApiKeyRepository(infra.cassandra).create(name, role)
  return { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
}

async function api (method: string, path: string, auth: Record<string, string>, body?: unknown) {
  const response = await fetch(`${stack.createUrl}${path}`, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await response.text()
  return { status: response.status, body: text === '' ? null : JSON.parse(text) }
}

type Auth = Record<string, string>

async function subscribe (auth: Auth, path: string, events: string[]): Promise<{ id: string, secret: string }> {
  const { status, body } = await api('POST', '/api/v1/webhooks', auth, { url: receiver.url(path), events })
  expect(status).toBe(201)
  return body
}

async function newLink (auth: Record<string, string>, alias?: string): Promise<string> {
  const { status, body } = await api('POST', '/api/v1/links', auth, { url: 'https://example.com/page', ...(alias ? { alias } : {}) })
  expect(status).toBe(201)
  return body.key
}

const types = (path: string): string[] => receiver.at(path).map((r) => JSON.parse(r.body).type)
const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('webhook delivery', () => {
  it('delivers created, updated and deleted in order, signed so that standardwebhooks verifies them', async () => {
    const alice = await apiKey('alice')
    const hook = await subscribe(alice, '/signed', ['link.created', 'link.updated', 'link.deleted'])
    const key = await newLink(alice)
    expect((await api('PATCH', `/api/v1/links/${key}`, alice, { title: 'Hello' })).status).toBe(200)
    expect((await api('DELETE', `/api/v1/links/${key}`, { authorization: alice.authorization! })).status).toBe(204)

    await waitFor('three deliveries', async () => receiver.at('/signed').length >= 3)
    expect(types('/signed')).toEqual(['link.created', 'link.updated', 'link.deleted'])
    const verifier = new Webhook(hook.secret)
    const ids = new Set<string>()
    for (const request of receiver.at('/signed')) {
      const payload = verifier.verify(request.body, request.headers) as { data: { key: string } }
      expect(payload.data.key).toBe(key)
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
      ids.add(request.headers['webhook-id']!)
    }
    expect(ids.size).toBe(3)
    // Another secret does not verify them.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(receiver.at('/signed')[0]!.body, receiver.at('/signed')[0]!.headers)).toThrow()

    const log = await api('GET', `/api/v1/webhooks/${hook.id}/deliveries`, alice)
    expect(log.body.deliveries).toHaveLength(3)
    expect(log.body.deliveries.every((d: { outcome: string, statusCode: number }) => d.outcome === 'delivered' && d.statusCode === 200)).toBe(true)
  })

  it('retries a receiver answering 500 three times, then 200: the event once more each time, with the same id', async () => {
    const bob = await apiKey('bob')
    receiver.on('/flaky', answers.flaky(3))
    const hook = await subscribe(bob, '/flaky', ['link.created'])
    await newLink(bob)
    await waitFor('the fourth attempt', async () => receiver.at('/flaky').length >= 4)
    await settle(1500)
    const attempts = receiver.at('/flaky')
    expect(attempts).toHaveLength(4)
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1)
    const verifier = new Webhook(hook.secret)
    for (const attempt of attempts) verifier.verify(attempt.body, attempt.headers)
    const log = (await api('GET', `/api/v1/webhooks/${hook.id}/deliveries`, bob)).body.deliveries
    expect(log.map((d: { outcome: string }) => d.outcome)).toEqual(['delivered', 'failed', 'failed', 'failed'])
    expect(log.map((d: { attempt: number }) => d.attempt)).toEqual([4, 3, 2, 1])
    expect(log[1]).toMatchObject({ statusCode: 500, error: 'the endpoint answered 500' })
  })

  it('sends an owner only its own links\' events, and an admin\'s webhook every link\'s', async () => {
    const [carol, dave, admin] = await Promise.all([apiKey('carol'), apiKey('dave'), apiKey('ops', 'admin')])
    await subscribe(carol, '/carol', ['link.created'])
    await subscribe(dave, '/dave', ['link.created'])
    await subscribe(admin, '/admin', ['link.created'])
    const carols = await newLink(carol)
    const anonymous = (await api('POST', '/api/v1/links', { 'content-type': 'application/json' }, { url: 'https://example.com/anon' })).body.key as string
    const keys = (path: string): string[] => receiver.at(path).map((r) => JSON.parse(r.body).data.key)
    await waitFor('the admin webhook to get both', async () => keys('/admin').includes(carols) && keys('/admin').includes(anonymous))
    await waitFor('carol\'s webhook', async () => keys('/carol').includes(carols))
    expect(keys('/carol')).toEqual([carols])
    expect(keys('/dave')).toEqual([])
  })

  it('keeps delivering to a good endpoint while others hang, answer 10 MB or redirect', async () => {
    const erin = await apiKey('erin')
    receiver.on('/hang', answers.hang())
    receiver.on('/huge', answers.huge(10 * 1024 * 1024))
    receiver.on('/redirect', answers.redirect('http://127.0.0.1:1/elsewhere'))
    const [, , redirected] = await Promise.all(['/hang', '/huge', '/redirect'].map((path) => subscribe(erin, path, ['link.created'])))
    await subscribe(erin, '/good', ['link.created'])
    const created: string[] = []
    for (let i = 0; i < 5; i++) created.push(await newLink(erin))

    const good = await waitFor('all five at the good endpoint', async () => receiver.at('/good').length >= 5 && receiver.at('/good'), 8000)
    // The hanging endpoint still holds its requests (DELIVERY_TIMEOUT_MS is 8 s): it stalled nobody.
    expect(receiver.at('/hang').length).toBeGreaterThan(0)
    expect(receiver.open()).toBeGreaterThan(0)
    expect(good.map((r) => JSON.parse(r.body).data.key).sort()).toEqual([...created].sort())
    // One endpoint holds at most DELIVERY_CONCURRENCY_PER_ENDPOINT (2) requests at a time.
    expect(receiver.at('/hang').length).toBeLessThanOrEqual(2)

    // A redirect is a failure, and is not followed.
    const log = await waitFor('the redirect to be logged', async () => {
      const entries = (await api('GET', `/api/v1/webhooks/${redirected!.id}/deliveries`, erin)).body.deliveries
      return entries.length > 0 && entries
    })
    expect(log[0]).toMatchObject({ outcome: 'failed', statusCode: 302, error: 'the endpoint answered a redirect; redirects are not followed' })
    expect(receiver.at('/elsewhere')).toHaveLength(0)
  })

  it('sends one link.clicked event per link per fold, with the count', async () => {
    const frank = await apiKey('frank')
    await subscribe(frank, '/clicks', ['link.clicked'])
    const key = await newLink(frank)
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${stack.redirectUrl}/${key}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' } })
      expect(response.status).toBe(302)
    }
    const clicks = (): number => receiver.at('/clicks').map((r) => JSON.parse(r.body).data).filter((d) => d.key === key).reduce((sum, d) => sum + d.clicks, 0)
    await waitFor('three clicks reported', async () => clicks() >= 3, 20_000)
    await settle(1000)
    expect(clicks()).toBe(3)
    expect(types('/clicks').every((type) => type === 'link.clicked')).toBe(true)
  })
})
