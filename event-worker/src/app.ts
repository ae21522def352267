import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import cassandraPlugin from '@shortwave/common/plugins/cassandra'
import errorHandler from '@shortwave/common/plugins/error-handler'
import healthPlugin from '@shortwave/common/plugins/health'
import metricsPlugin from '@shortwave/common/plugins/metrics'
import methodNotAllowed from '@shortwave/common/plugins/method-not-allowed'
import { serverOptions } from '@shortwave/common/server-options'
import type { ResolveHost } from '@shortwave/common/target-resolver'
import type cassandra from 'cassandra-driver'
import Fastify, { type FastifyInstance } from 'fastify'
import { checkConfig, type Config } from './config.ts'
import workerPlugin from './plugins/worker.ts'

export interface AppDeps {
  cassandra?: cassandra.Client
  logger?: boolean
  /** How webhook hosts are resolved (tests); DNS otherwise. */
  resolveHost?: ResolveHost
}

/** The event-worker: delivers webhook events from the Cassandra outbox. Redis is not used. */
export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  checkConfig(config)
  const app = Fastify(serverOptions(config, deps.logger === false ? { logger: false } : {}))
    .withTypeProvider<TypeBoxTypeProvider>()

  await app.register(errorHandler, { retryAfterSeconds: 1 })
  await app.register(methodNotAllowed)
  await app.register(metricsPlugin, { service: 'event-worker' })
  await app.register(cassandraPlugin, { config, client: deps.cassandra })
  await app.register(healthPlugin, {
    checks: { cassandra: () => app.cassandra.execute('SELECT release_version FROM system.local') }
  })
  await app.register(workerPlugin, { config, ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}) })
  return app
}
