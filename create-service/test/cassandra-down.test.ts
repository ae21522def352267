import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, observedCassandra, poolSize, seedPool, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let cassandra: ReturnType<typeof observedCassandra>

beforeAll(async () => {
  infra = await createTestInfra('cs_cassandra_down')
  cassandra = observedCassandra(infra.cassandra)
  app = await startApp(infra, { RETRY_AFTER_SECONDS: '7', KEY_LEASE_AHEAD: '0' }, { cassandra: cassandra.client })
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

  // A fresh app each: the one above holds keys it leased in earlier tests.
  async function freshApp (): Promise<void> {
    await app.close()
    app = await startApp(infra, { RETRY_AFTER_SECONDS: '7', KEY_LEASE_AHEAD: '0' }, { cassandra: cassandra.client })
  }

  it('does not reuse a leased key whose activation failed', async () => {
    await infra.redis.del(`${infra.prefix}pool`)
    const chunk = await seedPool(infra, 3)
    await freshApp()
    const first = (await createLink(app, { url: 'https://example.com/a' })).json().key
    cassandra.state.down = true
    expect((await createLink(app, { url: 'https://example.com/b' })).statusCode).toBe(503)
    cassandra.state.down = false
    expect(await poolSize(infra)).toBe(0)
    // The key of the failed write was dropped with it: the last one of the chunk serves the next
    // create, and the one after bypasses the empty pool.
    const third = (await createLink(app, { url: 'https://example.com/c' })).json().key
    const fourth = (await createLink(app, { url: 'https://example.com/d' })).json().key
    expect(chunk).toContain(first)
    expect(chunk).toContain(third)
    expect(third).not.toBe(first)
    expect(chunk).not.toContain(fourth)
  })

  it('answers 503 when it cannot lease, and offers the chunk again', async () => {
    await infra.redis.del(`${infra.prefix}pool`)
    const chunk = await seedPool(infra, 3)
    await freshApp()
    cassandra.state.down = true
    expect((await createLink(app, { url: 'https://example.com/e' })).statusCode).toBe(503)
    cassandra.state.down = false
    expect(await poolSize(infra)).toBe(3)
    expect(chunk).toContain((await createLink(app, { url: 'https://example.com/f' })).json().key)
  })
})
