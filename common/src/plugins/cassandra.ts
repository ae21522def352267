import cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { CassandraConfig } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    cassandra: cassandra.Client
  }
}

const { types, policies, auth } = cassandra

/**
 * One client per process. Reconnection is constant and quick so a restarted node is used again
 * within a second or two, without restarting the service.
 */
export function createCassandraClient (config: CassandraConfig, options: { keyspace?: string | null } = {}): cassandra.Client {
  const keyspace = options.keyspace === undefined ? config.CASSANDRA_KEYSPACE : options.keyspace ?? undefined
  return new cassandra.Client({
    contactPoints: config.CASSANDRA_CONTACT_POINTS.split(','),
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    ...(keyspace ? { keyspace } : {}),
    ...(config.CASSANDRA_USERNAME
      ? { authProvider: new auth.PlainTextAuthProvider(config.CASSANDRA_USERNAME, config.CASSANDRA_PASSWORD ?? '') }
      : {}),
    queryOptions: {
      prepare: true,
      consistency: types.consistencies[config.CASSANDRA_CONSISTENCY === 'QUORUM' ? 'quorum' : config.CASSANDRA_CONSISTENCY === 'ONE' ? 'one' : config.CASSANDRA_CONSISTENCY === 'LOCAL_ONE' ? 'localOne' : 'localQuorum'],
      serialConsistency: types.consistencies.localSerial
    },
    socketOptions: { connectTimeout: 2000, readTimeout: config.CASSANDRA_TIMEOUT_MS },
    policies: { reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000) },
    pooling: { warmup: true, heartBeatInterval: 5000 }
  })
}

export interface CassandraPluginOptions {
  config: CassandraConfig
  /** A client owned by the caller (tests); the plugin then neither connects it twice nor closes it. */
  client?: cassandra.Client
}

async function cassandraPlugin (app: FastifyInstance, opts: CassandraPluginOptions): Promise<void> {
  const owned = opts.client === undefined
  const client = opts.client ?? createCassandraClient(opts.config)
  await client.connect()
  app.decorate('cassandra', client)
  if (owned) app.addHook('onClose', async () => { await client.shutdown() })
}

export default fp(cassandraPlugin, { name: 'sw-cassandra', fastify: '5.x' })
