// The CQL schema, as an ordered list of migrations. Each is applied once per keyspace and
// recorded in schema_migrations; every statement is idempotent as well, so a run interrupted
// half-way can simply be repeated. Append new migrations; never edit an applied one.

export interface Migration {
  id: string
  statements: string[]
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: '001-links',
    statements: [
      // One table for every key, generated or alias: the key-worker claims a generated key by
      // inserting its row (state 'pooled') with IF NOT EXISTS, an alias claims its row the same
      // way with its URL in one step, so the two can never collide. Rows are never deleted:
      // a key is handed out at most once, even after its link is deleted or expires.
      `CREATE TABLE IF NOT EXISTS links (
        bucket text,
        key text,
        state text,
        url text,
        created_at timestamp,
        expires_at timestamp,
        owner text,
        claimed_at timestamp,
        claimed_by text,
        deleted_at timestamp,
        PRIMARY KEY ((bucket), key)
      ) WITH compaction = {'class': 'LeveledCompactionStrategy'}`,
      // Counters per key and UTC day, folded in by the key-worker from Redis.
      `CREATE TABLE IF NOT EXISTS link_clicks_daily (
        key text,
        day date,
        clicks counter,
        bot_clicks counter,
        PRIMARY KEY ((key), day)
      ) WITH CLUSTERING ORDER BY (day DESC)`,
      `CREATE TABLE IF NOT EXISTS api_keys (
        key_hash text PRIMARY KEY,
        id text,
        name text,
        role text,
        created_at timestamp,
        revoked_at timestamp
      )`
    ]
  }
]

export type Replication =
  | { class: 'SimpleStrategy', replication_factor: number }
  | ({ class: 'NetworkTopologyStrategy' } & Record<string, number | string>)

/**
 * Parses CASSANDRA_REPLICATION: "SimpleStrategy:1" (local) or
 * "NetworkTopologyStrategy:dc1=3,dc2=3" (production).
 */
export function parseReplication (text: string): Replication {
  const simple = /^SimpleStrategy:([1-9])$/.exec(text)
  if (simple) return { class: 'SimpleStrategy', replication_factor: Number(simple[1]) }
  const nts = /^NetworkTopologyStrategy:([A-Za-z0-9_-]+=[1-9](,[A-Za-z0-9_-]+=[1-9])*)$/.exec(text)
  if (nts) {
    const dcs = Object.fromEntries(nts[1]!.split(',').map((pair) => {
      const [dc, rf] = pair.split('=')
      return [dc!, Number(rf)]
    }))
    return { class: 'NetworkTopologyStrategy', ...dcs }
  }
  throw new RangeError(`"${text}" is not a replication setting; use SimpleStrategy:1 or NetworkTopologyStrategy:dc1=3`)
}

export function replicationCql (replication: Replication): string {
  const entries = Object.entries(replication).map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`)
  return `{${entries.join(', ')}}`
}
