import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorker } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('kw_methods')
  // No refill during the test: only the HTTP endpoints are under test.
  app = await buildWorker(infra, { WORKER_ID: 'methods', REFILL_INTERVAL_MS: '60000' })
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

describe('key-worker endpoints', () => {
  it.each([['POST', '/healthz'], ['PUT', '/readyz'], ['DELETE', '/metrics']] as const)('answer %s %s with 405 and Allow: GET, HEAD', async (method, url) => {
    const response = await app.inject({ method, url })
    expect(response.statusCode).toBe(405)
    expect(response.headers['allow']).toBe('GET, HEAD')
    expect(response.json()).toMatchObject({ statusCode: 405, error: 'Method Not Allowed', code: 'SW_METHOD_NOT_ALLOWED' })
  })

  it('still answer 404 for paths they do not have', async () => {
    const response = await app.inject({ method: 'POST', url: '/refill' })
    expect(response.statusCode).toBe(404)
    expect(response.headers['allow']).toBeUndefined()
  })
})
