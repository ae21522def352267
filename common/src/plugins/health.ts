import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Server as NetServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'

export type Check = () => Promise<unknown>
export type CheckResults = Record<string, boolean>

export interface HealthOptions {
  checks: Record<string, Check>
  /** Decides readiness from the results; by default every check must pass. */
  isReady?: (results: CheckResults) => boolean
  timeoutMs?: number
}

const HealthBody = Type.Object({ status: Type.String() })
const ReadyBody = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) })

function withTimeout (check: Check, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, false)
    check().then(() => resolve(true), () => resolve(false)).finally(() => clearTimeout(timer))
  })
}

/** Readiness checks of the two stores every service uses; each service decides what it needs of them. */
export function storeChecks (app: FastifyInstance): Record<'cassandra' | 'redis', Check> {
  return {
    cassandra: () => app.cassandra.execute('SELECT release_version FROM system.local'),
    redis: () => app.redis.ping()
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Takes the instance out of rotation before it closes: /readyz answers 503, and every answer
     * closes its connection, so a proxy holding idle keep-alive connections to it stops reusing
     * them. After `ms` it stops accepting connections and resolves once the open ones have ended
     * (at most `settleMs` later), when the instance can close: connections the proxy still kept
     * idle by then are the ones it closed itself (its keep-alive timeout is shorter, nginx/).
     */
    drain: (ms: number, settleMs?: number) => Promise<void>
  }
}

// Closing a keep-alive connection a proxy is about to reuse loses the request it sends on it: a
// POST nginx may not send again (a 502), or a 503 from a closing server. Answers that say
// "Connection: close" hand the closing to the proxy instead, one connection at a time.
function closeAfterAnswer (_request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('connection', 'close')
}

// How long the last connections get to finish once no new one is accepted.
const SETTLE_MS = 1000

/**
 * Stops accepting connections and waits for the open ones to end. Fastify's close() answers 503 to
 * a request it parses after closing began, and http.Server#close() drops every connection with no
 * request parsed yet, a proxy's request possibly in flight on it: both lose a POST the proxy will
 * not send again. Closing only the listening socket makes the proxy's next connect fail instead,
 * which it retries on another server whatever the method, while the requests already on their way
 * are answered normally (each answer closing its connection, see closeAfterAnswer).
 */
async function stopAccepting (server: Server, settleMs: number): Promise<void> {
  if (!server.listening) return
  // net.Server#close calls back once the last open connection has ended.
  const ended = new Promise<void>((resolve) => { NetServer.prototype.close.call(server, () => { resolve() }) })
  await Promise.race([ended, sleep(settleMs, undefined, { ref: false })])
}

/** /healthz says the process is alive; /readyz says whether it can do its job right now. */
async function healthPlugin (app: FastifyInstance, opts: HealthOptions): Promise<void> {
  const isReady = opts.isReady ?? ((results) => Object.values(results).every(Boolean))
  const timeoutMs = opts.timeoutMs ?? 1000
  let draining = false

  // The hot path pays nothing for this until the drain: the listener is added only then.
  app.decorate('drain', async (ms: number, settleMs = SETTLE_MS) => {
    if (!draining) app.server.prependListener('request', closeAfterAnswer)
    draining = true
    await sleep(ms, undefined, { ref: false })
    await stopAccepting(app.server, settleMs)
  })

  app.get('/healthz', { logLevel: 'warn', schema: { hide: true, response: { 200: HealthBody } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { logLevel: 'warn', schema: { hide: true, response: { 200: ReadyBody, 503: ReadyBody } } }, async (_request, reply) => {
    if (draining) return reply.code(503).send({ status: 'draining', checks: {} })
    const names = Object.keys(opts.checks)
    const outcomes = await Promise.all(names.map((name) => withTimeout(opts.checks[name]!, timeoutMs)))
    const results: CheckResults = Object.fromEntries(names.map((name, i) => [name, outcomes[i]!]))
    const ready = isReady(results)
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      checks: Object.fromEntries(names.map((name) => [name, results[name] ? 'up' : 'down']))
    })
  })
}

export default fp(healthPlugin, { name: 'sw-health', fastify: '5.x' })
