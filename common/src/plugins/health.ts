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

/** /healthz says the process is alive; /readyz says whether it can do its job right now. */
async function healthPlugin (app: FastifyInstance, opts: HealthOptions): Promise<void> {
  const isReady = opts.isReady ?? ((results) => Object.values(results).every(Boolean))
  const timeoutMs = opts.timeoutMs ?? 1000

  app.get('/healthz', { logLevel: 'warn', schema: { hide: true, response: { 200: HealthBody } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { logLevel: 'warn', schema: { hide: true, response: { 200: ReadyBody, 503: ReadyBody } } }, async (_request, reply) => {
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
