// Migration 012: webhooks, their outbox and their delivery log (README "Webhooks", docs/reliability.md
// "Webhook delivery"). Every query reads one partition, or a few named by key (IN on a partition
// key of at most two values); nothing scans. Each table's comment says which query it serves.

export const WEBHOOK_TABLES: string[] = [
  // One endpoint, read by id (GET/DELETE/PATCH /api/v1/webhooks/{id}; the worker before each
  // delivery). scope is the API key id whose links it covers, '*' for an admin's (every link).
  // failing_since: the first failed attempt since the last success (null while healthy); the
  // worker disables the endpoint once it is older than WEBHOOK_DISABLE_AFTER_SECONDS.
  `CREATE TABLE IF NOT EXISTS webhooks (
    id text PRIMARY KEY,
    creator text,
    scope text,
    url text,
    events set<text>,
    secret text,
    enabled boolean,
    created_at timestamp,
    disabled_at timestamp,
    disabled_reason text,
    failing_since timestamp
  ) WITH comment = 'one webhook by id'`,
  // GET /api/v1/webhooks: the ids an API key registered (at most WEBHOOKS_PER_KEY), one partition.
  `CREATE TABLE IF NOT EXISTS webhooks_by_creator (
    creator text,
    id text,
    PRIMARY KEY ((creator), id)
  ) WITH comment = 'the webhooks of one API key'`,
  // The fan-out: which webhooks want an event of this type about a link of this owner:
  // WHERE event_type = ? AND scope IN (owner, '*'), one partition, two clustering prefixes.
  `CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    event_type text,
    scope text,
    webhook_id text,
    PRIMARY KEY ((event_type), scope, webhook_id)
  ) WITH comment = 'webhooks by event type and scope, for the fan-out'`,
  // The outbox and the work queue in one: a partition is one shard's minute of due times. A row
  // with webhook_id '' is an event still to fan out (written by create-service before the change
  // it describes, by the key-worker after a click fold); the fan-out replaces it, in one
  // single-partition batch, by one row per webhook (same due_at and event_id). A failed delivery is
  // moved to the partition of its next due time. A worker holding the shard's lease reads the
  // partitions from the shard's cursor to the current minute. Rows outlive the 24 h of retries.
  `CREATE TABLE IF NOT EXISTS webhook_queue (
    shard int,
    slot bigint,
    due_at timestamp,
    event_id text,
    webhook_id text,
    event_type text,
    scoped_key text,
    owner text,
    occurred_at timestamp,
    check_version int,
    payload text,
    attempt int,
    first_attempt_at timestamp,
    PRIMARY KEY ((shard, slot), due_at, event_id, webhook_id)
  ) WITH default_time_to_live = 259200 AND gc_grace_seconds = 10800
    AND comment = 'webhook events and deliveries due, by shard and minute'`,
  // The oldest minute of a shard that may still hold rows: the worker's reads start there.
  `CREATE TABLE IF NOT EXISTS webhook_queue_cursors (
    shard int PRIMARY KEY,
    slot bigint
  ) WITH comment = 'where a shard of webhook_queue starts'`,
  // Which worker works a shard: taken with INSERT … IF NOT EXISTS USING TTL, kept with
  // UPDATE … IF holder = ? USING TTL; a worker that dies loses it when the TTL runs out.
  `CREATE TABLE IF NOT EXISTS webhook_shard_leases (
    shard int PRIMARY KEY,
    holder text
  ) WITH gc_grace_seconds = 3600 AND comment = 'the lease of each webhook_queue shard'`,
  // The live workers (one partition, TTL'd heartbeats), so each takes its share of the shards.
  `CREATE TABLE IF NOT EXISTS webhook_workers (
    scope text,
    worker_id text,
    PRIMARY KEY ((scope), worker_id)
  ) WITH gc_grace_seconds = 3600 AND comment = 'event-worker heartbeats'`,
  // GET /api/v1/webhooks/{id}/deliveries: the attempts of one webhook on one UTC day, newest first;
  // the last few days are read. Kept 7 days (TTL), so a busy endpoint's log stays bounded.
  `CREATE TABLE IF NOT EXISTS webhook_deliveries (
    webhook_id text,
    day date,
    at timeuuid,
    event_id text,
    event_type text,
    attempt int,
    outcome text,
    status_code int,
    error text,
    duration_ms int,
    PRIMARY KEY ((webhook_id, day), at)
  ) WITH CLUSTERING ORDER BY (at DESC) AND default_time_to_live = 604800
    AND comment = 'delivery attempts of one webhook and day'`
]
