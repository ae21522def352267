import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type cassandra from 'cassandra-driver'
import Fastify from 'fastify'
import type { CassandraConfig, HttpConfig } from './config.ts'
import cassandraPlugin from './plugins/cassandra.ts'
import errorHandler from './plugins/error-handler.ts'
import metricsPlugin from './plugins/metrics.ts'
import methodNotAllowed from './plugins/method-not-allowed.ts'
import { serverOptions } from './server-options.ts'
import type { Tracing } from './tracing.ts'

// What every background worker (key-worker, event-worker) starts with: it answers only health,
// readiness and metrics, so errors are the common JSON ones with a short Retry-After, other
// methods get 405, and Cassandra is its one store every time. Each adds its stores' checks, the
// health plugin and its loops.

export interface WorkerAppDeps {
  cassandra?: cassandra.Client
  logger?: boolean
  tracing?: Tracing
}

export async function createWorkerApp (
  config: HttpConfig & CassandraConfig, service: string, deps: WorkerAppDeps = {}
) {
  const app = Fastify(serverOptions(config, deps.logger === false ? { logger: false } : {}, deps.tracing))
    .withTypeProvider<TypeBoxTypeProvider>()
  if (deps.tracing) await app.register(deps.tracing.plugin)
  await app.register(errorHandler, { retryAfterSeconds: 1 })
  await app.register(methodNotAllowed)
  await app.register(metricsPlugin, { service })
  await app.register(cassandraPlugin, { config, client: deps.cassandra })
  return app
}
