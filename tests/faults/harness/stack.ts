// A whole Shortwave stack of separate processes, as production runs it: a key-worker, create-service
// and redirect-service replicas, and a real nginx on the shared config in front of them
// (tests/nginx/edge.ts) — pointed at the suite's own Cassandra and Redis.
import { migrate } from '@shortwave/common/cassandra/migrate'
import { parseReplication } from '@shortwave/common/cassandra/schema'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import type { CassandraConfig } from '@shortwave/common/config'
import type cassandra from 'cassandra-driver'
import { freePort, startEdge, testEnv, type Edge } from '../../nginx/edge.ts'
import { service, type Managed } from './processes.ts'

export interface ProcessStackOptions {
  contactPoints: string
  keyspace: string
  /** e.g. SimpleStrategy:1, or SimpleStrategy:3 on the three-node cluster. */
  replication: string
  redisUrl: string
  logDir: string
  createReplicas?: number
  redirectReplicas?: number
  /** Extra environment for every service. */
  env?: Record<string, string>
}

export interface ProcessStack {
  edge: Edge
  keyWorker: Managed
  creates: Managed[]
  redirects: Managed[]
  /** Every service, in start order. */
  services: Managed[]
  close: () => Promise<void>
}

export function cassandraConfig (contactPoints: string, keyspace: string, timeoutMs = 10_000): CassandraConfig {
  return {
    CASSANDRA_CONTACT_POINTS: contactPoints,
    CASSANDRA_LOCAL_DC: 'datacenter1',
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
    CASSANDRA_SERIAL_CONSISTENCY: 'LOCAL_SERIAL',
    CASSANDRA_TIMEOUT_MS: timeoutMs
  }
}

/** Drops and re-creates the suite's keyspace; returns a client on it (the caller shuts it down). */
export async function freshKeyspace (contactPoints: string, keyspace: string, replication: string): Promise<cassandra.Client> {
  const admin = createCassandraClient(cassandraConfig(contactPoints, keyspace, 30_000), { keyspace: null })
  await admin.connect()
  try {
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`)
    await migrate(admin, { keyspace, replication: parseReplication(replication) })
  } finally {
    await admin.shutdown()
  }
  const client = createCassandraClient(cassandraConfig(contactPoints, keyspace))
  await client.connect()
  return client
}

export async function startProcessStack (opts: ProcessStackOptions): Promise<ProcessStack> {
  const env: Record<string, string> = {
    CASSANDRA_CONTACT_POINTS: opts.contactPoints,
    CASSANDRA_LOCAL_DC: 'datacenter1',
    CASSANDRA_KEYSPACE: opts.keyspace,
    CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
    REDIS_URL: opts.redisUrl,
    REDIS_KEY_PREFIX: 'f:',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://sw.test',
    // One client address sends everything here; the limits are tested elsewhere.
    RATE_LIMIT_MAX: '1000000',
    POOL_LOW_WATER: '300',
    POOL_HIGH_WATER: '1500',
    WORKER_ID: 'faults-worker',
    ...opts.env
  }
  const ports = async (n: number) => Promise.all(Array.from({ length: n }, () => freePort()))
  const [workerPort] = await ports(1)
  const createPorts = await ports(opts.createReplicas ?? 2)
  const redirectPorts = await ports(opts.redirectReplicas ?? 2)

  // /healthz: the worker's /readyz also wants a full pool, which it is not right after a restart.
  const keyWorker = service({ name: 'key-worker', port: workerPort!, env, logDir: opts.logDir, readyPath: '/healthz' })
  const creates = createPorts.map((port, i) => service({ name: `create-service-${i + 1}`, port, env, logDir: opts.logDir }))
  const redirects = redirectPorts.map((port, i) => service({ name: `redirect-service-${i + 1}`, port, env, logDir: opts.logDir }))
  const services = [keyWorker, ...creates, ...redirects]
  for (const s of services) await s.start()

  const edge = await startEdge((port) => testEnv({
    port,
    create: createPorts.map((p) => `127.0.0.1:${p}`),
    redirect: redirectPorts.map((p) => `127.0.0.1:${p}`),
    // As in nginx/env/local.conf.
    serverParams: 'max_fails=3 fail_timeout=10s'
  }))
  return {
    edge,
    keyWorker,
    creates,
    redirects,
    services,
    async close () {
      await edge.close()
      await Promise.all(services.map((s) => s.stop()))
    }
  }
}
