import { Type, type Static } from 'typebox'
import { CassandraEnv, envSchema } from '../config.ts'

// What the schema migration reads from the environment (migrate-cli.ts): where Cassandra is,
// and the replication of the keyspace it creates. Exported so deployment checks can prove that
// compose.yaml and the Kubernetes Job set exactly these variables.
export const configSchema = envSchema({
  ...CassandraEnv,
  CASSANDRA_REPLICATION: Type.String({ default: 'SimpleStrategy:1' })
})

export type MigrateConfig = Static<typeof configSchema>
