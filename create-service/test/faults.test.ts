import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, observedCassandra, poolSize, seedPool, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let cassandra: ReturnType<typeof observedCassandra>

beforeAll(async () => {
  infra = await createTestInfra('cs_faults')
  cassandra = observedCassandra(infra.cassandra)
  app = await startApp(infra, { RETRY_AFTER_SECONDS: '7', POOL_FETCH_BATCH: '2' }, { cassandra: cassandra.client })
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

describe('when Cassandra cannot answer', () => {
  it.each([
    ['a generated key from the pool', {}],
    ['a generated key claimed directly', { empty: true }],
    ['an alias', { alias: 'down-alias' }]
  ])('answers 503 with Retry-After to a create with %s, then works again', async (_name, variant: { alias?: string, empty?: boolean }) => {
    await infra.redis.del(`${infra.prefix}pool`)
    if (!variant.empty) await seedPool(infra, 10)
    const body = { url: 'https://example.com/down', ...(variant.alias ? { alias: variant.alias } : {}) }
    cassandra.state.down = true
    try {
      const response = await createLink(app, body)
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('7')
      expect(response.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Cassandra is unavailable; retry shortly', code: 'SW_DEPENDENCY_UNAVAILABLE' })
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
    } finally {
      cassandra.state.down = false
    }
    expect((await createLink(app, body)).statusCode).toBe(201)
  })

  it('answers 503 to a metadata read', async () => {
    cassandra.state.down = true
    try {
      const response = await app.inject({ method: 'GET', url: '/api/v1/links/some-key' })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('7')
    } finally {
      cassandra.state.down = false
    }
  })

  it('does not reuse a pool key whose activation failed', async () => {
    await infra.redis.del(`${infra.prefix}pool`)
    const [first, second] = await seedPool(infra, 2)
    cassandra.state.down = true
    expect((await createLink(app, { url: 'https://example.com/a' })).statusCode).toBe(503)
    cassandra.state.down = false
    expect(await poolSize(infra)).toBe(0)
    const key = (await createLink(app, { url: 'https://example.com/b' })).json().key
    // One of the two was lost with the failed write; the other serves the next create.
    expect([first, second]).toContain(key)
    const third = (await createLink(app, { url: 'https://example.com/c' })).json().key
    expect([first, second]).not.toContain(third)
  })
})
