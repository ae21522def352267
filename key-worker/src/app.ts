import { createKeyPool } from '@shortwave/common/key-pool'
import { createKeyGenerator, type KeyGenerator } from '@shortwave/common/keys'
import healthPlugin, { storeChecks } from '@shortwave/common/plugins/health'
import redisPlugin from '@shortwave/common/plugins/redis'
import { createWorkerApp, type WorkerAppDeps } from '@shortwave/common/worker-app'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { checkConfig, type Config } from './config.ts'
import workerPlugin from './plugins/worker.ts'

export interface AppDeps extends WorkerAppDeps {
  redis?: Redis
  /** Where claimed keys come from; tests inject one to force collisions. */
  generator?: Pick<KeyGenerator, 'batch'>
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  checkConfig(config)
  const app = await createWorkerApp(config, 'key-worker', deps)
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
