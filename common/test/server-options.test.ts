import Fastify from 'fastify'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { envSchema, HttpEnv, loadConfig } from '../src/config.ts'
import { serverOptions } from '../src/server-options.ts'

const schema = envSchema(HttpEnv)

/** A Fastify app on the shared options whose one route logs a warning; returns the JSON lines it logged. */
async function logsOf (
  env: Record<string, string>,
  headers: Record<string, string>
): Promise<Array<Record<string, unknown>>> {
  const config = loadConfig(schema, { PORT: '0', ...env })
  const stream = new PassThrough()
  const lines: string[] = []
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)))
  const options = serverOptions(config)
  const app = Fastify({ ...options, logger: { ...options.logger as object, stream } })
  app.get('/work', async (request) => {
    request.log.warn({ step: 'work' }, 'something worth a warning')
    return { ok: true }
  })
  const response = await app.inject({ method: 'GET', url: '/work', headers })
  expect(response.statusCode).toBe(200)
  await app.close()
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('the shared server options', () => {
  it("log a request's own lines under the X-Request-Id nginx set", async () => {
    const lines = await logsOf({}, { 'x-request-id': 'edge-42' })
    expect(lines.find((line) => line['step'] === 'work')).toMatchObject({ level: 40, reqId: 'edge-42', msg: 'something worth a warning' })
  })

  it('leave the per-request pair to nginx by default, and log it under the request id with LOG_REQUESTS=true', async () => {
    const quiet = await logsOf({}, { 'x-request-id': 'edge-43' })
    expect(quiet.map((line) => line['msg'])).toEqual(['something worth a warning'])

    const verbose = await logsOf({ LOG_REQUESTS: 'true' }, { 'x-request-id': 'edge-44' })
    expect(verbose.map((line) => [line['msg'], line['reqId']])).toEqual([
      ['incoming request', 'edge-44'],
      ['something worth a warning', 'edge-44'],
      ['request completed', 'edge-44']
    ])
  })

  it('never log the client\'s address, even when requests are logged', async () => {
    const lines = await logsOf({ LOG_REQUESTS: 'true', TRUST_PROXY: '127.0.0.1' }, { 'x-forwarded-for': '203.0.113.77' })
    expect(lines.find((line) => line['msg'] === 'incoming request')).toMatchObject({ req: { method: 'GET', url: '/work' } })
    expect(JSON.stringify(lines)).not.toMatch(/203\.0\.113\.77|remoteAddress|remotePort/)
  })

  it('never log the Authorization header or cookies, even when requests are logged', async () => {
    const lines = await logsOf({ LOG_REQUESTS: 'true' }, { authorization: 'Bearer sw_secret', cookie: 'session=secret' })
    expect(JSON.stringify(lines)).not.toContain('secret')
  })
})
