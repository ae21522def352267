// The CQL schema, as an ordered list of migrations. Each is applied once per keyspace and
// recorded in schema_migrations; every statement is idempotent as well, so a run interrupted
// half-way can simply be repeated. Append new migrations; never edit an applied one.

import { LINK_LIST_TABLES } from './schema-link-list.ts'
import { WEBHOOK_TABLES } from './schema-webhooks.ts'

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
  },
  {
    id: '002-ownership-idempotency',
    statements: [
      // A key's id → its hash, so the CLI can revoke a key by the id it printed; the secret
      // itself is stored nowhere.
      `CREATE TABLE IF NOT EXISTS api_keys_by_id (
        id text PRIMARY KEY,
        key_hash text
      )`,
      // The links of one API key, newest first. Written before the link row, so a stored link is
      // always listed; an entry whose link never got stored (a lost alias race, a failed write) is
      // skipped when read, because the links row stays the source of truth.
      `CREATE TABLE IF NOT EXISTS links_by_owner (
        owner text,
        created_at timestamp,
        key text,
        PRIMARY KEY ((owner), created_at, key)
      ) WITH CLUSTERING ORDER BY (created_at DESC, key DESC)`,
      // The first answer to a request sent with an Idempotency-Key, per caller and route (id is a
      // hash of the three). status is null while the first request is still running. Every write
      // to a row is a lightweight transaction, so Paxos orders them whatever the clocks say.
      `CREATE TABLE IF NOT EXISTS idempotency_keys (
        id text PRIMARY KEY,
        request_hash text,
        status int,
        body text,
        location text,
        created_at timestamp
      ) WITH default_time_to_live = 86400`
    ]
  },
  {
    id: '003-links-unified-compaction',
    statements: [
      // Leveled compaction kept the whole table in one growing level-0 sstable below its 160 MiB
      // target and rewrote all of it after every memtable flush: under sustained creation that
      // was most of Cassandra's CPU per create (docs/benchmarks.md). A links row is written twice
      // within minutes (claimed, then activated) and read by partition key through a bloom filter
      // afterwards, mostly behind two caches: tiered compaction (UCS T4, Cassandra 5's default
      // shape) writes each row a few times instead of once per level, and sharded sstables keep
      // each compaction small.
      'ALTER TABLE links WITH compaction = {\'class\': \'UnifiedCompactionStrategy\', \'scaling_parameters\': \'T4\'}'
    ]
  },
  {
    id: '004-key-leases',
    statements: [
      // A create-service replica leases a chunk of pooled keys before it uses them (one Paxos
      // round per chunk; LinkRepository.leaseChunk): leased_by names the lease, unique per chunk,
      // so a replica whose lease answer was lost can read back which keys became its own.
      'ALTER TABLE links ADD IF NOT EXISTS leased_by text',
      'ALTER TABLE links ADD IF NOT EXISTS leased_at timestamp'
    ]
  },
  {
    id: '005-api-key-rate',
    statements: [
      // A key's own quota as the apikey CLI spells it ("600/min", "unlimited"); null: the
      // configured default (API_KEY_RATE).
      'ALTER TABLE api_keys ADD IF NOT EXISTS rate text'
    ]
  },
  {
    id: '006-link-edits',
    statements: [
      // What an owner may change after the link exists (PATCH /api/v1/links/{key}). version counts
      // the edits (null: never edited) and is written only by the edit's lightweight transaction
      // (UPDATE … IF version = ?), so concurrent edits on any replica apply one at a time, each
      // on the state it read; it is also the link's ETag.
      'ALTER TABLE links ADD IF NOT EXISTS title text',
      'ALTER TABLE links ADD IF NOT EXISTS tags set<text>',
      'ALTER TABLE links ADD IF NOT EXISTS version int',
      'ALTER TABLE links ADD IF NOT EXISTS updated_at timestamp',
      // The edits of one link, newest first (GET /api/v1/links/{key}/history). Clustered by the
      // version the edit produced rather than by its time: the version is the order Paxos applied
      // the edits in, while two replicas' clocks may disagree by more than the edits are apart.
      // before and after are JSON objects of the fields the edit sent.
      `CREATE TABLE IF NOT EXISTS link_edits (
        key text,
        version int,
        edited_at timestamp,
        editor text,
        before text,
        after text,
        PRIMARY KEY ((key), version)
      ) WITH CLUSTERING ORDER BY (version DESC)`
    ]
  },
  {
    id: '007-link-lifecycle',
    statements: [
      // How a link redirects, set by its owner (design.md, "Lifecycle at redirect time"). Null, or
      // false, is the default: a link that sets none of them redirects as links always did. Read by
      // the one-row find with the rest of the link, written with it and by the edit's transaction.
      'ALTER TABLE links ADD IF NOT EXISTS valid_from timestamp',
      'ALTER TABLE links ADD IF NOT EXISTS disabled boolean',
      'ALTER TABLE links ADD IF NOT EXISTS max_clicks int',
      'ALTER TABLE links ADD IF NOT EXISTS fallback_url text',
      'ALTER TABLE links ADD IF NOT EXISTS forward_query boolean',
      'ALTER TABLE links ADD IF NOT EXISTS redirect_status int'
    ]
  },
  {
    id: '008-domains',
    statements: [
      // The registered custom domains (POST/GET/DELETE /api/v1/domains; the default domain is
      // configuration, not a row). One partition, scope = 'all', so the whole registry is one
      // partition read: every redirect replica loads it into memory at start-up, again on each
      // change (pub/sub) and every DOMAIN_RELOAD_MS, and create-service reads one row by host.
      // A registry holds hundreds of hosts, not millions. Every write is a lightweight transaction
      // (IF NOT EXISTS / IF EXISTS), so two admins registering one host get one 201 and one 409.
      // Links of a domain live in links partitions of their own (domains.ts, linkBucket): the
      // existing rows are the default domain's as they are, nothing is rewritten.
      `CREATE TABLE IF NOT EXISTS domains (
        scope text,
        host text,
        root_redirect text,
        not_found_redirect text,
        created_at timestamp,
        PRIMARY KEY ((scope), host)
      )`
    ]
  },
  // The list's indexes (GET /api/v1/links; common/src/link-index.ts, README "How each list query is served").
  { id: '009-link-list', statements: LINK_LIST_TABLES },
  {
    id: '010-imports',
    statements: [
      // An import job (POST /api/v1/links/import), read by its id (GET /api/v1/imports/{id}). The
      // replica running it rewrites the counters and updated_at about once a second: a job still
      // "running" whose updated_at is older than a minute lost its replica and reads as
      // "interrupted" (create-service/src/import/import-jobs.ts). Kept 30 days.
      `CREATE TABLE IF NOT EXISTS import_jobs (
        id text PRIMARY KEY,
        owner text,
        layout text,
        status text,
        total int,
        done int,
        created int,
        skipped int,
        failed int,
        created_at timestamp,
        updated_at timestamp,
        finished_at timestamp
      ) WITH default_time_to_live = 2592000`,
      // The rows of a job that failed, by line (GET /api/v1/imports/{id}/errors pages through one
      // partition in line order). At most IMPORT_ERRORS_MAX rows a job are kept; failed counts all.
      `CREATE TABLE IF NOT EXISTS import_errors (
        job_id text,
        line int,
        field text,
        message text,
        code text,
        PRIMARY KEY ((job_id), line)
      ) WITH default_time_to_live = 2592000`,
      // What makes a re-run create nothing new: one row per (owner, row identity) an import created
      // or found. The identity is the key for a row naming one ("k:<domain>/<key>"), else a hash of
      // the row's fields ("h:<sha-256>"). An owner's identities are spread over 16 partitions by a
      // hash of the identity (bucket), so a job reads the identities of a chunk of rows with one
      // query per bucket (row_id IN …) and records them with one single-partition batch per bucket.
      `CREATE TABLE IF NOT EXISTS import_rows (
        owner text,
        bucket int,
        row_id text,
        domain text,
        key text,
        job_id text,
        PRIMARY KEY ((owner, bucket), row_id)
      )`,
      // One running import per API key, whichever replica runs it: claimed with a lightweight
      // transaction, kept alive by the runner (TTL 60 s), released at the end. Two runs of one
      // file at once would otherwise both find a row new and both create it.
      `CREATE TABLE IF NOT EXISTS import_locks (
        owner text PRIMARY KEY,
        job_id text
      )`
    ]
  },
  {
    id: '011-analytics',
    statements: [
      // Where clicks came from (GET /api/v1/links/{key}/stats?by=…, GET /api/v1/stats), folded in by
      // the key-worker from Redis (dimension-folder.ts). scope is 'link:<scoped key>' or
      // 'owner:<owner>'; one partition per scope and month, so a range is one slice per month and a
      // link's statistics are deleted partition by partition. dimension is a stats `by` value, or
      // 'audience' (people/bot) or, for an owner, 'link'. Values of one scope-day-dimension are
      // capped (the first N distinct, then 'other'), so a storm of referrers cannot grow a partition
      // without bound; a month holds at most a few tens of thousands of rows.
      `CREATE TABLE IF NOT EXISTS clicks_by_dimension (
        scope text,
        month text,
        dimension text,
        day date,
        value text,
        clicks counter,
        PRIMARY KEY ((scope, month), dimension, day, value)
      )`,
      // A scope's unique visitors per UTC day: the count of its HyperLogLog of salted hashes in
      // Redis, overwritten by each fold of the day (no hash is ever stored here).
      `CREATE TABLE IF NOT EXISTS unique_visitors_daily (
        scope text,
        day date,
        visitors int,
        PRIMARY KEY ((scope), day)
      ) WITH CLUSTERING ORDER BY (day DESC)`,
      // The scopes with statistics in a month, in 16 buckets: what the retention sweep deletes
      // once the month is past STATS_RETENTION_MONTHS, without scanning a table.
      `CREATE TABLE IF NOT EXISTS stats_scopes_by_month (
        month text,
        bucket int,
        scope text,
        PRIMARY KEY ((month, bucket), scope)
      )`
    ]
  },
  // Webhooks (/api/v1/webhooks) and their durable events (README "Webhooks"; docs/reliability.md).
  { id: '012-webhooks', statements: WEBHOOK_TABLES }
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
