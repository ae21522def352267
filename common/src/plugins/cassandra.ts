import cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError, type CassandraConfig } from '../config.ts'

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
export interface ClientOptions {
  /** Another keyspace than the configured one; null for none (migrations). */
  keyspace?: string | null
  /** Where write timestamps come from (tests skew the client's clock with one). */
  timestamps?: cassandra.policies.timestampGeneration.TimestampGenerator
}

export function createCassandraClient (config: CassandraConfig, options: ClientOptions = {}): cassandra.Client {
  const keyspace = options.keyspace === undefined ? config.CASSANDRA_KEYSPACE : options.keyspace ?? undefined
  const contactPoints = config.CASSANDRA_CONTACT_POINTS.split(',')
  return new cassandra.Client({
    contactPoints,
    // The driver reaches the nodes it discovers (all but the contact points) on this port, not
    // on the contact points' own: without it, a cluster on another port than 9042 would shrink
    // to the node the control connection happens to use.
    protocolOptions: { port: nativePort(contactPoints) },
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    ...(keyspace ? { keyspace } : {}),
    ...(config.CASSANDRA_USERNAME
      ? { authProvider: new auth.PlainTextAuthProvider(config.CASSANDRA_USERNAME, config.CASSANDRA_PASSWORD ?? '') }
      : {}),
    queryOptions: {
      prepare: true,
      consistency: types.consistencies[config.CASSANDRA_CONSISTENCY === 'QUORUM' ? 'quorum' : config.CASSANDRA_CONSISTENCY === 'ONE' ? 'one' : config.CASSANDRA_CONSISTENCY === 'LOCAL_ONE' ? 'localOne' : 'localQuorum'],
      serialConsistency: config.CASSANDRA_SERIAL_CONSISTENCY === 'SERIAL' ? types.consistencies.serial : types.consistencies.localSerial
    },
    socketOptions: { connectTimeout: 2000, readTimeout: config.CASSANDRA_TIMEOUT_MS },
    policies: {
      reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000),
      ...(options.timestamps ? { timestampGeneration: options.timestamps } : {})
    },
    pooling: { warmup: true, heartBeatInterval: 5000 }
  })
}

/** The port the contact points name (9042, the driver's default, when they name none). */
export function nativePort (contactPoints: readonly string[]): number {
  const portOf = (point: string): string => {
    // A bare IPv6 address (::1) has colons but no port; host:port and [v6]:port have one.
    const bareIPv6 = !point.startsWith('[') && point.split(':').length > 2
    return (bareIPv6 ? undefined : /:(\d+)$/.exec(point.trim())?.[1]) ?? '9042'
  }
  const ports = new Set(contactPoints.map(portOf))
  if (ports.size > 1) throw new ConfigError(`Invalid configuration: CASSANDRA_CONTACT_POINTS names several CQL ports (${[...ports].join(', ')}); every node must use the same one`)
  return Number([...ports][0])
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
