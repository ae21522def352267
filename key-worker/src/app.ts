import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createKeyPool } from '@shortwave/common/key-pool'
import { createKeyGenerator, type KeyGenerator } from '@shortwave/common/keys'
import cassandraPlugin from '@shortwave/common/plugins/cassandra'
import errorHandler from '@shortwave/common/plugins/error-handler'
import healthPlugin, { storeChecks } from '@shortwave/common/plugins/health'
import metricsPlugin from '@shortwave/common/plugins/metrics'
import methodNotAllowed from '@shortwave/common/plugins/method-not-allowed'
import redisPlugin from '@shortwave/common/plugins/redis'
import { serverOptions } from '@shortwave/common/server-options'
import type cassandra from 'cassandra-driver'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { checkConfig, type Config } from './config.ts'
import workerPlugin from './plugins/worker.ts'

export interface AppDeps {
  cassandra?: cassandra.Client
  redis?: Redis
  logger?: boolean
  /** Where claimed keys come from; tests inject one to force collisions. */
  generator?: Pick<KeyGenerator, 'batch'>
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  checkConfig(config)
  const app = Fastify(serverOptions(config, deps.logger === false ? { logger: false } : {}))
    .withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandler, { retryAfterSeconds: 1 })
  await app.register(methodNotAllowed)
  await app.register(metricsPlugin, { service: 'key-worker' })
  await app.register(cassandraPlugin, { config, client: deps.cassandra })
  await app.register(redisPlugin, { config, client: deps.redis })
  await app.register(healthPlugin, {
    checks: {
      ...storeChecks(app),
      // Ready means create-service can take keys from the pool without bypassing it.
      pool: async () => {
        const depth = await createKeyPool(app.redis, app.redisKeys).depth(config.CLAIM_BATCH_SIZE)
        if (depth < config.POOL_LOW_WATER) throw new Error(`pool depth ${depth} is below ${config.POOL_LOW_WATER}`)
      }
    }
  })
  await app.register(workerPlugin, { config, generator: deps.generator ?? createKeyGenerator(config.KEY_LENGTH) })
  return app
}
