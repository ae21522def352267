import type cassandra from 'cassandra-driver'
import { MIGRATIONS, replicationCql, type Replication } from './schema.ts'

export interface MigrateOptions {
  keyspace: string
  replication: Replication
  log?: (message: string) => void
  /** Stops after this migration (tests: a keyspace on an older schema, as a deployment still has it). */
  until?: string
}

const keyspaceName = /^[a-z][a-z0-9_]{0,47}$/

/** Creates the keyspace and applies pending migrations. Safe to run any number of times, concurrently too. */
export async function migrate (client: cassandra.Client, opts: MigrateOptions): Promise<string[]> {
  // Identifiers cannot be bound values, so the keyspace name is checked against a strict pattern.
  if (!keyspaceName.test(opts.keyspace)) throw new RangeError(`invalid keyspace name "${opts.keyspace}"`)
  const ks = opts.keyspace
  const log = opts.log ?? (() => {})
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(opts.replication)}`)
  await client.execute(`CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (id text PRIMARY KEY, applied_at timestamp)`)
  const done = new Set((await client.execute(`SELECT id FROM ${ks}.schema_migrations`)).rows.map((r) => r['id'] as string))
  const applied: string[] = []
  for (const migration of MIGRATIONS) {
    if (done.has(migration.id)) {
      if (migration.id === opts.until) break
      continue
    }
    for (const statement of migration.statements) {
      await client.execute(statement.replace(/(TABLE IF NOT EXISTS |ALTER TABLE )/g, `$1${ks}.`))
    }
    await client.execute(`INSERT INTO ${ks}.schema_migrations (id, applied_at) VALUES (?, toTimestamp(now()))`, [migration.id], { prepare: true })
    log(`applied migration ${migration.id} to ${ks}`)
    applied.push(migration.id)
    if (migration.id === opts.until) break
  }
  return applied
}
