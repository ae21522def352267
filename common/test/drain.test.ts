// The drain a SIGTERM starts (plugins/health.ts, run-service.ts): out of rotation, still answering,
// and every answer closes its connection, so the proxy, not the server, ends each keep-alive one.
import { Agent, request } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { Type } from 'typebox'
import { HttpEnv, envSchema } from '../src/config.ts'
import health from '../src/plugins/health.ts'
import { runService } from '../src/run-service.ts'

interface Answer { status: number, connection: string | undefined, body: string, reusedSocket: boolean }

function get (port: number, path: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body, reusedSocket: req.reusedSocket }))
    })
    req.on('error', reject)
    req.end()
  })
}

let app: FastifyInstance | undefined
let agent: Agent | undefined
afterEach(async () => {
  agent?.destroy()
  await app?.close()
})

async function listening (): Promise<number> {
  app = Fastify()
  await app.register(health, { checks: { store: async () => 'up' } })
  app.get('/work', async () => ({ done: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

describe('drain', () => {
  it('keeps answering on open keep-alive connections, each answer closing its connection, and reports not ready', async () => {
    const port = await listening()
    agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const before = await get(port, '/work', agent)
    expect(before).toMatchObject({ status: 200, connection: 'keep-alive' })
    expect((await get(port, '/readyz', agent)).status).toBe(200)

    // Not awaited: the drain lasts longer than this test, and its timer does not hold the process.
    const drained = app!.drain(60_000)
    expect(drained).toBeInstanceOf(Promise)

    const during = await get(port, '/work', agent)
    expect(during).toMatchObject({ status: 200, connection: 'close', body: '{"done":true}' })
    // The request went out on the connection opened before the drain, which the answer then closed.
    expect(during.reusedSocket).toBe(true)
    const ready = await get(port, '/readyz', agent)
    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body)).toEqual({ status: 'draining', checks: {} })
    expect(ready.reusedSocket).toBe(false)
  })

  it('then stops accepting connections, and answers a request already on its way before it resolves', async () => {
    const port = await listening()
    // A proxy's connection accepted just before the end of the drain, its request not yet sent.
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => { resolve(s) }).on('error', reject)
    })
    let resolved = false
    const drained = app!.drain(20, 5_000).then(() => { resolved = true })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(resolved).toBe(false)
    await expect(get(port, '/work', new Agent())).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    const answer = new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => { text += chunk.toString() }).on('close', () => { resolve(text) })
    })
    socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n')
    const text = await answer
    expect(text).toMatch(/^HTTP\/1\.1 200 /)
    expect(text.toLowerCase()).toContain('connection: close')
    expect(text).toContain('{"done":true}')
    await drained
    expect(resolved).toBe(true)
  })

  it('resolves when it is given no time and no connection is open', async () => {
    await listening()
    await expect(app!.drain(0)).resolves.toBeUndefined()
    expect(app!.server.listening).toBe(false)
  })
})

describe('runService', () => {
  it('refuses a drain as long as the grace, naming both variables, and builds nothing', async () => {
    const exitCode = process.exitCode
    let built = false
    let stderr = ''
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((text: string) => { stderr += text; return true }) as typeof process.stderr.write
    try {
      await runService('test-service', envSchema({ ...HttpEnv, PORT: Type.Integer({ default: 0 }) }), async () => {
        built = true
        return Fastify()
      }, { SHUTDOWN_DRAIN_MS: '10000', SHUTDOWN_GRACE_MS: '10000' })
      expect(process.exitCode).toBe(78)
    } finally {
      process.stderr.write = write
      process.exitCode = exitCode
    }
    expect(built).toBe(false)
    expect(stderr).toContain('SHUTDOWN_DRAIN_MS (10000) must be shorter than SHUTDOWN_GRACE_MS (10000)')
  })
})
