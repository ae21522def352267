import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, seedPool, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance

beforeAll(async () => {
  infra = await createTestInfra('cs_methods')
  await seedPool(infra, 10)
  app = await startApp(infra, { RATE_LIMIT_MAX: '2' })
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

describe('a method a path does not answer', () => {
  it.each([
    ['PUT', '/api/v1/links', 'GET, HEAD, POST'],
    // The batch endpoint, though GET and DELETE reach /api/v1/links/{key} with "batch" for the key.
    ['PUT', '/api/v1/links/batch', 'POST'],
    ['PUT', '/api/v1/links/Xk3p9Qa', 'GET, HEAD, PATCH, DELETE'],
    ['POST', '/api/v1/links/Xk3p9Qa/history', 'GET, HEAD'],
    ['POST', '/api/v1/links/Xk3p9Qa/stats', 'GET, HEAD, DELETE'],
    ['PUT', '/api/v1/stats', 'GET, HEAD'],
    ['DELETE', '/api/v1/links/Xk3p9Qa/qr?format=png', 'GET, HEAD'],
    ['POST', '/api/v1/me', 'GET, HEAD'],
    ['PUT', '/api/v1/keys', 'GET, HEAD, POST'],
    ['GET', '/api/v1/keys/ak_0123456789abcdef', 'PATCH, DELETE'],
    ['POST', '/api/docs/json', 'GET, HEAD'],
    ['OPTIONS', '/healthz', 'GET, HEAD']
  ])('%s %s: 405 with Allow: %s', async (method, url, allow) => {
    const response = await app.inject({ method: method as 'GET', url })
    expect(response.statusCode).toBe(405)
    expect(response.headers['allow']).toBe(allow)
    expect(response.json()).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: `${method} is not allowed here; this path answers ${allow}`,
      code: 'SW_METHOD_NOT_ALLOWED'
    })
  })

  it('is refused before the API key or the body is looked at', async () => {
    const response = await app.inject({
      method: 'PUT',
      url: '/api/v1/links',
      headers: { authorization: 'Bearer sw_not-a-key', 'content-type': 'text/plain' },
      payload: 'not json'
    })
    expect(response.statusCode).toBe(405)
  })

  it('spends none of the creation budget', async () => {
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'PATCH', url: '/api/v1/links', remoteAddress: '10.0.0.9' })).statusCode).toBe(405)
    const body = { url: 'https://example.com/methods' }
    expect((await createLink(app, body, {}, '10.0.0.9')).statusCode).toBe(201)
    expect((await createLink(app, body, {}, '10.0.0.9')).statusCode).toBe(201)
    expect((await createLink(app, body, {}, '10.0.0.9')).statusCode).toBe(429)
  })

  it('leaves the requests a route does take, and unknown paths, as they were', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/links/batch' })).json()).toMatchObject({ statusCode: 404, code: 'SW_LINK_NOT_FOUND' })
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/links/batch' })).statusCode).toBe(401)
    const unknown = await app.inject({ method: 'PUT', url: '/api/v2/links' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.headers['allow']).toBeUndefined()
  })
})
