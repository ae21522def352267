// The schema step: `npm run migrate` locally, a one-shot service in compose, a Job in Kubernetes.
import { ConfigError, loadConfig } from '../config.ts'
import { createCassandraClient } from '../plugins/cassandra.ts'
import { backfillLinkList } from './migrate-backfill.ts'
import { configSchema as schema } from './migrate-config.ts'
import { migrate } from './migrate.ts'
import { parseReplication } from './schema.ts'

async function main (): Promise<void> {
  const config = loadConfig(schema, process.env)
  let replication
  try {
    replication = parseReplication(config.CASSANDRA_REPLICATION)
  } catch (error) {
    throw new ConfigError(`CASSANDRA_REPLICATION: ${(error as Error).message}`)
  }
  const client = createCassandraClient(config, { keyspace: null })
  try {
    await client.connect()
    const applied = await migrate(client, {
      keyspace: config.CASSANDRA_KEYSPACE, replication, log: (m) => console.log(m)
    })
    console.log(applied.length ? `schema of ${config.CASSANDRA_KEYSPACE} is up to date (${applied.length} applied)` : `schema of ${config.CASSANDRA_KEYSPACE} was already up to date`)
  } finally {
    await client.shutdown()
  }
  // The data steps, on the schema just made: each resumes where an interrupted run stopped.
  const data = createCassandraClient(config)
  try {
    await data.connect()
    await backfillLinkList(data, { again: process.argv.includes('--backfill-again'), log: (m) => console.log(m) })
  } finally {
    await data.shutdown()
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exitCode = error instanceof ConfigError ? 78 : 1
})
