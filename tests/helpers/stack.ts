// Starts the three real services in this test process, on real listeners, against the test
// file's own keyspace and Redis prefix (see testing/src/infra.ts).
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { loadConfig } from '@shortwave/common/config'
import { redisKeys } from '@shortwave/common/redis-keys'
import type { Tracing } from '@shortwave/common/tracing'
import type { TestInfra } from '@shortwave/testing/infra'
import { waitFor } from '@shortwave/testing/wait-for'
import { createApiKeyRepository } from '../../create-service/src/api-keys.ts'
import { buildApp as buildCreate } from '../../create-service/src/app.ts'
import { configSchema as createSchema } from '../../create-service/src/config.ts'
import { buildApp as buildRedirect } from '../../redirect-service/src/app.ts'
import { configSchema as redirectSchema } from '../../redirect-service/src/config.ts'
import { buildApp as buildWorker } from '../../key-worker/src/app.ts'
import { configSchema as workerSchema } from '../../key-worker/src/config.ts'

export interface StackOptions {
  workers?: number
  /** Redirect-service replicas (1 by default); each listens on its own port. */
  redirects?: number
  env?: Record<string, string>
  /** A Redis client for the services instead of the test's own (e.g. one pointing at a private server). */
  redis?: Redis
  /** Every service of the stack traced by it (common/src/tracing.ts). */
  tracing?: Tracing
}

export interface Stack {
  createUrl: string
  /** The first redirect replica. */
  redirectUrl: string
  redirectUrls: string[]
  apps: FastifyInstance[]
  close: () => Promise<void>
}

async function listen (app: FastifyInstance): Promise<string> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return address
}

export async function startStack (infra: TestInfra, opts: StackOptions = {}): Promise<Stack> {
  const env = { ...infra.env, PUBLIC_BASE_URL: 'http://sw.test', RATE_LIMIT_MAX: '1000000', ...opts.env }
  const deps = { cassandra: infra.cassandra, redis: opts.redis ?? infra.redis, logger: false, tracing: opts.tracing }
  const apps: FastifyInstance[] = []
  for (let i = 0; i < (opts.workers ?? 1); i++) {
    const worker = await buildWorker(loadConfig(workerSchema, { ...env, WORKER_ID: `test-worker-${i}` }), deps)
    apps.push(worker)
    await worker.ready()
  }
  const create = await buildCreate(loadConfig(createSchema, env), deps)
  const redirects: FastifyInstance[] = []
  for (let i = 0; i < (opts.redirects ?? 1); i++) {
    redirects.push(await buildRedirect(loadConfig(redirectSchema, env), deps))
  }
  apps.push(create, ...redirects)
  const [createUrl, ...redirectUrls] = await Promise.all([listen(create), ...redirects.map(listen)])
  return {
    createUrl: createUrl!,
    redirectUrl: redirectUrls[0]!,
    redirectUrls,
    apps,
    async close () {
      for (const app of apps.reverse()) await app.close()
    }
  }
}

/**
 * A stack whose redirect replicas (two unless told) all listen for invalidations already, and a
 * user API key's Authorization header: what the tests of edits and deletes across replicas need.
 */
export async function startManagedStack (
  infra: TestInfra,
  opts: StackOptions = {}
): Promise<{ stack: Stack, auth: Record<string, string> }> {
  const redirects = opts.redirects ?? 2
  const stack = await startStack(infra, { ...opts, redirects })
  const { secret } = await createApiKeyRepository(infra.cassandra).create('e2e', 'user')
  const channel = redisKeys(infra.prefix).linkInvalidations
  await waitFor('the replicas to subscribe', async () =>
    Number((await infra.redis.pubsub('NUMSUB', channel))[1]) >= redirects, 10_000)
  return { stack, auth: { authorization: `Bearer ${secret}` } }
}

/** Starts one more key-worker (e.g. to replace one the test stopped); the caller closes it. */
export async function startWorker (
  infra: TestInfra,
  workerId: string,
  env: Record<string, string> = {}
): Promise<FastifyInstance> {
  const worker = await buildWorker(loadConfig(workerSchema, { ...infra.env, ...env, WORKER_ID: workerId }), {
    cassandra: infra.cassandra, redis: infra.redis, logger: false
  })
  await worker.ready()
  return worker
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function inParallel<T, R> (
  items: T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  async function lane (): Promise<void> {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane))
  return results
}

export interface Created {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

export async function createLink (
  createUrl: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Created> {
  const response = await fetch(`${createUrl}/api/v1/links`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: await response.json() as Record<string, unknown>, headers: response.headers }
}

/** The Location header of a redirect as raw bytes, exactly as the server wrote them. */
export async function redirectOf (redirectUrl: string, key: string, method = 'GET'): Promise<{ status: number, location: Buffer | null }> {
  const { request } = await import('node:http')
  const url = new URL(`/${key}`, redirectUrl)
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      res.resume()
      const index = res.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'location')
      const location = index >= 0 ? Buffer.from(res.rawHeaders[index + 1]!, 'latin1') : null
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location }))
    })
    req.on('error', reject)
    req.end()
  })
}

export { waitFor }
