// Test support: every test file gets its own Cassandra keyspace and Redis key prefix on the real
// servers `npm test` starts, so files can run in parallel without seeing each other's data.
import cassandra from 'cassandra-driver'
import type { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { migrate } from '@shortwave/common/cassandra/migrate'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { createRedisClient, connectRedis } from '@shortwave/common/plugins/redis'
import type { CassandraConfig, RedisConfig } from '@shortwave/common/config'

export const TEST_CASSANDRA = process.env['SW_TEST_CASSANDRA'] ?? '127.0.0.1:19042'
export const TEST_REDIS_URL = process.env['SW_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:16379'
// Two checkouts testing against the same servers at once (git worktrees) set different namespaces,
// so the same test file in both does not drop the other's keyspace.
const TEST_NAMESPACE = (process.env['SW_TEST_NAMESPACE'] ?? '').replace(/[^a-z0-9]/g, '').slice(0, 8)

export interface TestInfra {
  keyspace: string
  prefix: string
  /** Environment a service's loadConfig accepts, pointing at this file's keyspace and prefix. */
  env: Record<string, string>
  cassandra: cassandra.Client
  redis: Redis
  cassandraConfig: CassandraConfig
  redisConfig: RedisConfig
  close: () => Promise<void>
}

/**
 * A fresh keyspace (dropped and migrated) and a unique Redis prefix for one test file.
 * `name` must be a short lowercase word, unique per test file.
 */
export async function createTestInfra (name: string, extraEnv: Record<string, string> = {}): Promise<TestInfra> {
  const keyspace = `t_${TEST_NAMESPACE}${name}`
  const prefix = `t:${name}:${randomBytes(3).toString('hex')}:`
  const env: Record<string, string> = {
    CASSANDRA_CONTACT_POINTS: TEST_CASSANDRA,
    CASSANDRA_LOCAL_DC: 'datacenter1',
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...extraEnv
  }
  const cassandraConfig: CassandraConfig = {
    CASSANDRA_CONTACT_POINTS: TEST_CASSANDRA,
    CASSANDRA_LOCAL_DC: 'datacenter1',
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
    CASSANDRA_SERIAL_CONSISTENCY: 'LOCAL_SERIAL',
    CASSANDRA_TIMEOUT_MS: 5000
  }
  const redisConfig: RedisConfig = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, REDIS_TIMEOUT_MS: 1000 }

  // Schema changes wait for the node to agree on the new schema; with many test files migrating
  // at once on a small machine that takes longer than any query the tests themselves send.
  const admin = createCassandraClient({ ...cassandraConfig, CASSANDRA_TIMEOUT_MS: 30_000 }, { keyspace: null })
  await admin.connect()
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`)
  await migrate(admin, { keyspace, replication: { class: 'SimpleStrategy', replication_factor: 1 } })
  await admin.shutdown()

  const client = createCassandraClient(cassandraConfig)
  await client.connect()
  const redis = createRedisClient(redisConfig)
  redis.on('error', () => {})
  if (!await connectRedis(redis, 5000)) throw new Error(`test Redis at ${TEST_REDIS_URL} is not reachable`)

  return {
    keyspace,
    prefix,
    env,
    cassandra: client,
    redis,
    cassandraConfig,
    redisConfig,
    async close () {
      const leftovers = await redis.keys(`${prefix}*`)
      for (let i = 0; i < leftovers.length; i += 1000) await redis.del(...leftovers.slice(i, i + 1000))
      redis.disconnect()
      await client.shutdown()
    }
  }
}

/**
 * A client on the test's keyspace whose write timestamps run `offsetMs` behind (negative) or
 * ahead of this machine's clock, as a service on a host with a skewed clock would write them.
 * Lightweight transactions still take the coordinator's time. The caller shuts it down.
 */
export async function skewedClient (infra: TestInfra, offsetMs: number): Promise<cassandra.Client> {
  class Skewed extends cassandra.policies.timestampGeneration.MonotonicTimestampGenerator {
    override getDate (): number {
      return Date.now() + offsetMs
    }
  }
  const client = createCassandraClient(infra.cassandraConfig, { timestamps: new Skewed(1000, 1000) })
  await client.connect()
  return client
}

/** Every key in the test's Redis key pool, chunk by chunk flattened (see key-pool.ts). */
export async function pooledKeys (infra: Pick<TestInfra, 'redis' | 'prefix'>): Promise<string[]> {
  const chunks = await infra.redis.smembers(redisKeys(infra.prefix).pool)
  return chunks.flatMap((chunk) => chunk.split(' '))
}

/** Counts rows of the links table that hold a link (not merely a claimed key). */
export async function countActiveLinks (client: cassandra.Client): Promise<number> {
  let count = 0
  const result = await client.execute('SELECT url, deleted_at FROM links', [], { prepare: true, fetchSize: 5000 })
  for await (const row of result) {
    if (row['url'] != null && row['deleted_at'] == null) count++
  }
  return count
}
