import { ConfigError } from '@shortwave/common/config'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { waitFor } from '@shortwave/testing/wait-for'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { loadWorkerConfig } from '../src/config.ts'

// The event-worker as a service: its settings, its probes and metrics, its leases on a real Cassandra.

const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))

function configError (env: Record<string, string>): string {
  try {
    loadWorkerConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('event-worker configuration', () => {
  it('applies the documented defaults', () => {
    expect(loadWorkerConfig({})).toMatchObject({
      PORT: 3005,
      EVENT_POLL_INTERVAL_MS: 1000,
      EVENT_LEASE_SECONDS: 30,
      DELIVERY_TIMEOUT_MS: 10_000,
      DELIVERY_MAX_RESPONSE_BYTES: 65_536,
      DELIVERY_CONCURRENCY: 64,
      DELIVERY_CONCURRENCY_PER_ENDPOINT: 4,
      DELIVERY_BACKOFF_BASE_MS: 5000,
      DELIVERY_BACKOFF_MAX_MS: 3_600_000,
      DELIVERY_RETRY_SECONDS: 86_400,
      WEBHOOK_DISABLE_AFTER_SECONDS: 86_400
    })
  })

  it('names the variable that is wrong', () => {
    expect(configError({ DELIVERY_TIMEOUT_MS: 'soon' })).toMatch(/DELIVERY_TIMEOUT_MS/)
    expect(configError({ ALLOWED_TARGET_NETWORKS: '10.0.0.0/33' })).toMatch(/ALLOWED_TARGET_NETWORKS/)
    expect(configError({ DELIVERY_BACKOFF_BASE_MS: '5000', DELIVERY_BACKOFF_MAX_MS: '1000' })).toMatch(/DELIVERY_BACKOFF_MAX_MS=1000 must be at least DELIVERY_BACKOFF_BASE_MS=5000/)
  })

  it('stops the process with exit 78 and one line naming the variable', async () => {
    const result = await new Promise<{ code: number | null, stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [server], { env: { PATH: process.env['PATH'] ?? '', EVENT_LEASE_SECONDS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
      child.on('error', reject)
      child.on('exit', (code) => resolve({ code, stderr }))
    })
    expect(result.code).toBe(78)
    expect(result.stderr).toMatch(/^Invalid configuration: EVENT_LEASE_SECONDS="1" is invalid/)
  })
})

describe('the event-worker app', () => {
  let infra: TestInfra
  let app: FastifyInstance

  beforeAll(async () => {
    infra = await createTestInfra('ew_app')
    app = await buildApp(loadWorkerConfig({ ...infra.env, WORKER_ID: 'app-test', EVENT_LEASE_SECONDS: '3' }), { cassandra: infra.cassandra, logger: false })
    await app.ready()
  })

  afterAll(async () => {
    await app?.close()
    await infra?.close()
  })

  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { cassandra: 'up' } })
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toContain('shortwave_webhook_shards_held{service="event-worker"}')
    expect(metrics).toContain('shortwave_webhook_deliveries_in_flight{service="event-worker"} 0')
  })

  it('leases every shard while it works alone, and gives them up when it stops', async () => {
    const leases = async () => (await infra.cassandra.execute('SELECT shard, holder FROM webhook_shard_leases')).rows
    await waitFor('every shard leased', async () => (await leases()).length === 16, 20_000)
    expect((await leases()).map((row) => row['holder'])).toEqual(Array(16).fill('app-test'))
    await app.close()
    expect(await leases()).toEqual([])
  })
})
