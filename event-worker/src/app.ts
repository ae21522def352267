import healthPlugin from '@shortwave/common/plugins/health'
import type { ResolveHost } from '@shortwave/common/target-resolver'
import { createWorkerApp, type WorkerAppDeps } from '@shortwave/common/worker-app'
import type { FastifyInstance } from 'fastify'
import { checkConfig, type Config } from './config.ts'
import workerPlugin from './plugins/worker.ts'

export interface AppDeps extends WorkerAppDeps {
  /** How webhook hosts are resolved (tests); DNS otherwise. */
  resolveHost?: ResolveHost
}

/** The event-worker: delivers webhook events from the Cassandra outbox. Redis is not used. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  checkConfig(config)
  const app = await createWorkerApp(config, 'event-worker', deps)
  await app.register(healthPlugin, {
    checks: { cassandra: () => app.cassandra.execute('SELECT release_version FROM system.local') }
  })
  await app.register(workerPlugin, { config, ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}) })
  return app
}
