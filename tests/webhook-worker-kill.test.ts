// An event-worker killed (SIGKILL, a real process) in the middle of a delivery loses no event: the
// delivery stays queued in Cassandra, and once the dead worker's shard leases expire another worker
// takes the shards and sends it again, under the same webhook-id. Events written while no worker
// ran are delivered too.
import { loadConfig } from '@shortwave/common/config'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { waitFor } from '@shortwave/testing/wait-for'
import type { FastifyInstance } from 'fastify'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../create-service/src/api-keys.ts'
import { buildApp as buildCreate } from '../create-service/src/app.ts'
import { configSchema as createSchema } from '../create-service/src/config.ts'
import { service, type Managed } from './faults/harness/processes.ts'
import { answers, startReceiver, type Receiver } from './helpers/webhook-receiver.ts'
import { freePort } from './nginx/edge.ts'

const ALLOW = { ALLOWED_TARGET_NETWORKS: '127.0.0.0/8', PUBLIC_BASE_URL: 'http://sw.test' }
const logDir = mkdtempSync(join(tmpdir(), 'sw-webhook-kill-'))

let infra: TestInfra
let create: FastifyInstance
let receiver: Receiver
const workers: Managed[] = []

beforeAll(async () => {
  infra = await createTestInfra('whkill')
  receiver = await startReceiver()
  const config = loadConfig(createSchema, { ...infra.env, ...ALLOW })
  create = await buildCreate(config, { cassandra: infra.cassandra, redis: infra.redis, logger: false })
  await create.ready()
})

afterAll(async () => {
  for (const worker of workers) if (worker.running()) await worker.stop()
  await receiver?.close()
  await create?.close()
  await infra?.close()
  rmSync(logDir, { recursive: true, force: true })
})

async function eventWorker (n: number): Promise<Managed> {
  const worker = service({
    name: `event-worker-${n}`,
    port: await freePort(),
    logDir,
    env: {
      ...infra.env,
      ...ALLOW,
      LOG_LEVEL: 'info',
      WORKER_ID: `kill-test-${n}`,
      EVENT_POLL_INTERVAL_MS: '50',
      EVENT_LEASE_SECONDS: '3',
      // Long enough that the held request is still in flight when the worker dies.
      DELIVERY_TIMEOUT_MS: '60000',
      DELIVERY_BACKOFF_BASE_MS: '100',
      DELIVERY_BACKOFF_MAX_MS: '200'
    }
  })
  workers.push(worker)
  await worker.start()
  return worker
}

describe('an event-worker killed mid-delivery', () => {
  it('loses no event: another worker delivers it again under the same id once the lease expires', async () => {
    const { secret } = await createApiKeyRepository(infra.cassandra).create('kill', 'user')
    const auth = { authorization: `Bearer ${secret}` }
    // The first request is never answered: the worker is killed while it waits.
    receiver.on('/hook', (n, req, res) => (n === 0 ? answers.hang() : answers.status(200))(n, req, res))
    const registered = await create.inject({ method: 'POST', url: '/api/v1/webhooks', headers: auth, payload: { url: receiver.url('/hook'), events: ['link.created'] } })
    expect(registered.statusCode).toBe(201)
    const verifier = new Webhook(registered.json().secret as string)

    const keys: string[] = []
    const newLink = async (): Promise<void> => {
      const response = await create.inject({ method: 'POST', url: '/api/v1/links', headers: auth, payload: { url: 'https://example.com/k' } })
      expect(response.statusCode).toBe(201)
      keys.push(response.json().key as string)
    }

    const first = await eventWorker(1)
    await newLink()
    await waitFor('the first delivery to be in flight', async () => receiver.at('/hook').length >= 1)
    const exit = await first.crash()
    expect(exit.signal).toBe('SIGKILL')
    // Written while no worker runs.
    for (let i = 0; i < 3; i++) await newLink()

    const second = await eventWorker(2)
    const delivered = (): string[] => receiver.at('/hook').slice(1).map((r) => JSON.parse(r.body).data.key as string)
    await waitFor('every event at the receiver', async () => keys.every((key) => delivered().includes(key)), 30_000)

    const [held, ...rest] = receiver.at('/hook')
    expect(rest.map((r) => r.headers['webhook-id'])).toContain(held!.headers['webhook-id'])
    for (const request of receiver.at('/hook')) verifier.verify(request.body, request.headers)
    expect((await second.stop()).code).toBe(0)
  }, 120_000)
})
