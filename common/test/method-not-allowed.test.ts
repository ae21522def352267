import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import errorHandler from '../src/plugins/error-handler.ts'
import methodNotAllowed from '../src/plugins/method-not-allowed.ts'

// The plugin alone, on routes shaped like the services' own: a static path beside a parametric
// one, a catch-all, and a parser that refuses every body but JSON (as create-service's does).
async function buildApp (opts: { plugin: boolean }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(errorHandler, { retryAfterSeconds: 1 })
  if (opts.plugin) await app.register(methodNotAllowed)
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(Object.assign(new Error('send JSON'), { statusCode: 415 }))
  })
  app.get('/healthz', async () => 'ok')
  app.get('/links', async () => [])
  app.post('/links', async () => ({}))
  app.post('/links/batch', async () => ({}))
  app.get('/links/:key', async () => ({}))
  app.delete('/links/:key', async () => ({}))
  app.get('/links/:key/stats', async () => ({}))
  app.get('/files/*', async () => 'file')
  app.post('/submit', async () => ({}))
  await app.ready()
  return app
}

let app: FastifyInstance
afterEach(async () => { await app?.close() })

describe('method-not-allowed', () => {
  it('answers a method the path does not take with 405, the Allow header and the JSON error shape', async () => {
    app = await buildApp({ plugin: true })
    const response = await app.inject({ method: 'PUT', url: '/links' })
    expect(response.statusCode).toBe(405)
    expect(response.headers['allow']).toBe('GET, HEAD, POST')
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(response.json()).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: 'PUT is not allowed here; this path answers GET, HEAD, POST',
      code: 'SW_METHOD_NOT_ALLOWED'
    })
  })

  it.each([
    ['PATCH', '/links/Xk3p9Qa', 'GET, HEAD, DELETE'],
    // GET and DELETE reach /links/:key with "batch" for the key, but the static route names the resource.
    ['PUT', '/links/batch', 'POST'],
    ['POST', '/links/Xk3p9Qa/stats', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['DELETE', '/files/a/b.txt', 'GET, HEAD'],
    ['OPTIONS', '/links?limit=5', 'GET, HEAD, POST'],
    ['TRACE', '/links', 'GET, HEAD, POST'],
    // HEAD comes with GET, and only with GET.
    ['HEAD', '/submit', 'POST'],
    ['GET', '/submit', 'POST']
  ])('names exactly the methods that reach a route: %s %s -> Allow: %s', async (method, url, allow) => {
    app = await buildApp({ plugin: true })
    const response = await app.inject({ method: method as 'GET', url })
    expect(response.statusCode).toBe(405)
    expect(response.headers['allow']).toBe(allow)
  })

  it('decides before the body is read: a wrong method with a body of the wrong type is a 405, not a 415', async () => {
    const request = { method: 'PUT', url: '/links', headers: { 'content-type': 'application/xml' }, payload: '<link/>' } as const
    app = await buildApp({ plugin: false })
    expect((await app.inject(request)).statusCode).toBe(415)
    await app.close()
    app = await buildApp({ plugin: true })
    expect((await app.inject(request)).statusCode).toBe(405)
  })

  it('leaves paths no route answers a 404', async () => {
    app = await buildApp({ plugin: true })
    for (const url of ['/nothing', '/links/Xk3p9Qa/stats/more', '/files']) {
      const response = await app.inject({ method: 'POST', url })
      expect({ url, status: response.statusCode, allow: response.headers['allow'] }).toEqual({ url, status: 404, allow: undefined })
    }
  })

  it('adds no route: the route table (and so the OpenAPI document) is the same as without it', async () => {
    app = await buildApp({ plugin: false })
    const without = app.printRoutes({ commonPrefix: false })
    expect((await app.inject({ method: 'PUT', url: '/links' })).statusCode).toBe(404)
    await app.close()
    app = await buildApp({ plugin: true })
    expect(app.printRoutes({ commonPrefix: false })).toBe(without)
  })
})
