import { loadConfig } from '@shortwave/common/config'
import { createKeyGenerator } from '@shortwave/common/keys'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { pooledKeys, type TestInfra } from '@shortwave/testing/infra'
import { createKeyPool } from '@shortwave/common/key-pool'
import cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import { createApiKeyRepository, type ApiKeyRole, type KeyRate } from '../src/api-keys.ts'
import { buildApp, type AppDeps } from '../src/app.ts'
import { configSchema } from '../src/config.ts'

/** Does what the key-worker does: claims chunks of keys in Cassandra, then offers them in the Redis pool. */
export async function seedPool (infra: TestInfra, count = 50, chunkSize = count): Promise<string[]> {
  const pool = createKeyPool(infra.redis, redisKeys(infra.prefix))
  const seeded: string[] = []
  for (let left = count; left > 0; left -= chunkSize) {
    const { claimed } = await createLinkRepository(infra.cassandra).claimBatch(createKeyGenerator(7).batch(Math.min(chunkSize, left)), 'test')
    await pool.offer(claimed)
    seeded.push(...claimed)
  }
  return seeded
}

/** Keys in the pool, not yet leased. */
export async function poolSize (infra: TestInfra): Promise<number> {
  return (await pooledKeys(infra)).length
}

export async function startApp (
  infra: TestInfra,
  env: Record<string, string> = {},
  deps: Pick<AppDeps, 'cassandra' | 'redis' | 'resolveHost'> = {}
): Promise<FastifyInstance> {
  const config = loadConfig(configSchema, { RATE_LIMIT_MAX: '100000', ...infra.env, ...env })
  const app = await buildApp(config, { cassandra: infra.cassandra, redis: infra.redis, logger: false, ...deps })
  await app.ready()
  return app
}

export function createLink (
  app: FastifyInstance,
  body: unknown,
  headers: Record<string, string> = {},
  remoteAddress?: string
) {
  return app.inject({ method: 'POST', url: '/api/v1/links', payload: body as object, headers, ...(remoteAddress ? { remoteAddress } : {}) })
}

/**
 * The shared Cassandra client seen through a window: counts concurrent executions of matching
 * statements, and can make every query fail as if no node were reachable.
 */
export function observedCassandra (client: cassandra.Client, match: (query: string) => boolean = () => true) {
  const state = { inFlight: 0, maxInFlight: 0, down: false }
  const batch = async (...args: unknown[]) => {
    if (state.down) throw new cassandra.errors.NoHostAvailableError({})
    return await (client.batch as (...args: unknown[]) => Promise<unknown>)(...args)
  }
  const execute = async (query: string, ...rest: unknown[]) => {
    if (state.down) throw new cassandra.errors.NoHostAvailableError({})
    const counted = match(query)
    if (counted) state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight)
    try {
      return await (client.execute as (...args: unknown[]) => Promise<unknown>)(query, ...rest)
    } finally {
      if (counted) state.inFlight--
    }
  }
  const proxy = new Proxy(client, {
    get (target, property) {
      if (property === 'execute') return execute
      if (property === 'batch') return batch
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  return { client: proxy, state }
}

/** The value of one sample in Prometheus text, or 0 when absent. */
export async function metricValue (app: FastifyInstance, name: string, label: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label))
  return line ? Number(line.split(' ').at(-1)) : 0
}

export interface TestKey {
  id: string
  secret: string
  /** The Authorization header carrying the key. */
  auth: Record<string, string>
}

/** Creates an API key straight in Cassandra, as the CLI does. */
export async function newApiKey (infra: TestInfra, role: ApiKeyRole = 'user', name = 'test key', rate: KeyRate = 'default'): Promise<TestKey> {
  const { key, secret } = await createApiKeyRepository(infra.cassandra).create(name, role, rate)
  return { id: key.id, secret, auth: { authorization: `Bearer ${secret}` } }
}

/** The app on a pool of `poolKeys` keys, and the callers the ownership rules are about. */
export async function appWithCallers (infra: TestInfra, poolKeys: number) {
  await seedPool(infra, poolKeys)
  const app = await startApp(infra)
  const [alice, bob, admin] = await Promise.all([
    newApiKey(infra, 'user', 'alice'), newApiKey(infra, 'user', 'bob'), newApiKey(infra, 'admin', 'ops')
  ])
  return { app, alice, bob, admin }
}

/** The lifecycle fields of a link that sets none of them, as the API answers them. */
export const NO_LIFECYCLE = {
  validFrom: null, maxClicks: null, fallbackUrl: null, disabled: false, forwardQuery: false, redirectStatus: null
} as const
