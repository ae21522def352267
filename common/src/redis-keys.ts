// Every Redis key name Shortwave uses is built here, under one configurable prefix, so tests can
// run side by side and an operator can find everything with one SCAN pattern.

export function redisKeys (prefix: string) {
  return {
    /** SET of chunks of keys claimed in Cassandra and not yet leased (see key-pool.ts). */
    pool: `${prefix}pool`,
    /** Cached link: JSON, or NEGATIVE for "no such link". */
    link: (key: string) => `${prefix}link:${key}`,
    /** HASH clickField(day, key, bot) → clicks not yet folded into Cassandra. */
    clicksPending: `${prefix}clicks:pending`,
    /** The pending hash, renamed while one key-worker folds it. */
    clicksFolding: (worker: string) => `${prefix}clicks:folding:${worker}`,
    clicksFoldingPattern: `${prefix}clicks:folding:*`,
    /** SET of the folding hashes that exist: found without a SCAN of the whole keyspace. */
    clicksFoldingIndex: `${prefix}clicks:folding-index`,
    /**
     * The sequence number of the last click chunk a redirect replica's process added to the pending
     * hash: a chunk whose reply was lost is re-sent with its number and added once. No TTL, so an
     * eviction can never make a re-sent chunk count twice; the process deletes it on a clean stop.
     */
    clicksFlushedSeq: (instance: string) => `${prefix}clicks:flushed:${instance}`,
    /**
     * HASH dimensionField(day, key, dimension, value) → clicks not yet folded (analytics). Apart from
     * clicksPending so that a key-worker which predates it never sees (and drops) its fields.
     */
    dimensionsPending: `${prefix}clicks:dims:pending`,
    dimensionsFolding: (worker: string) => `${prefix}clicks:dims:folding:${worker}`,
    dimensionsFoldingPattern: `${prefix}clicks:dims:folding:*`,
    dimensionsFoldingIndex: `${prefix}clicks:dims:folding-index`,
    dimensionsFlushedSeq: (instance: string) => `${prefix}clicks:dims:flushed:${instance}`,
    /**
     * HyperLogLog of a scope's (link:<key> or owner:<id>) visitors on a UTC day: salted hashes only,
     * which cannot be listed back. Expires a few days after its day.
     */
    visitors: (day: string, scope: string) => `${prefix}uv:${day}:${scope}`,
    /** Present for STATS_RETENTION_SWEEP_SECONDS after a key-worker started the analytics retention sweep. */
    statsRetentionSwept: `${prefix}stats:retention-swept`,
    /** Held (with a TTL) while a purge of a link's statistics runs: one at a time. */
    statsPurge: (key: string) => `${prefix}purge:${key}`,
    /** Present (with a TTL) while a key-worker is alive; its folding hashes are adopted once it expires. */
    workerHeartbeat: (worker: string) => `${prefix}worker:${worker}:heartbeat`,
    /**
     * The counted GETs of a link with maxClicks, incremented as each is answered (click-cap.ts): the
     * one click count kept exactly, since it decides answers. Seeded from Cassandra when missing.
     */
    clickCap: (key: string) => `${prefix}cap:${key}`,
    rateLimit: `${prefix}rl:`,
    /** Pub/sub channel: create-service publishes a key it deleted; every redirect replica drops it from its memory. */
    linkInvalidations: `${prefix}links:invalidated`,
    /**
     * Pub/sub channel: redirect replicas agree on each day's visitor salt (daily-salt.ts). Only a
     * channel, never a key: nothing sent on it is in Redis's snapshots or append-only file.
     */
    visitorSalt: `${prefix}analytics:salt`,
    /**
     * Pub/sub channel: create-service announces a webhook registered or removed; every replica
     * reloads which link changes have subscribers.
     */
    webhookChanges: `${prefix}webhooks:changed`,
    /** Pub/sub channel: create-service publishes a host it registered or removed; every replica reloads. */
    domainChanges: `${prefix}domains:changed`
  }
}
export type RedisKeys = ReturnType<typeof redisKeys>

export const NEGATIVE = '!'

/** Field of the pending-clicks hash: one per key, UTC day and audience (bots are counted apart). */
export function clickField (day: string, key: string, bot: boolean): string {
  return bot ? `${day}|${key}|bot` : `${day}|${key}`
}

/**
 * Field of the pending-dimensions hash: one per UTC day, key, dimension and value. The value goes
 * last, so it may hold "|" (a utm value can); a day and a scoped key never do.
 */
export function dimensionField (day: string, key: string, dimension: string, value: string): string {
  return `${day}|${key}|${dimension}|${value}`
}

export interface DimensionFieldParts {
  day: string
  key: string
  dimension: string
  value: string
}

export function parseDimensionField (field: string): DimensionFieldParts | null {
  const first = field.indexOf('|')
  const second = field.indexOf('|', first + 1)
  const third = field.indexOf('|', second + 1)
  if (first <= 0 || second <= first + 1 || third <= second + 1) return null
  return {
    day: field.slice(0, first),
    key: field.slice(first + 1, second),
    dimension: field.slice(second + 1, third),
    value: field.slice(third + 1)
  }
}

export function parseClickField (field: string): { day: string, key: string, bot: boolean } | null {
  const [day, key, audience, ...rest] = field.split('|')
  if (!day || !key || rest.length > 0 || (audience !== undefined && audience !== 'bot')) return null
  return { day, key, bot: audience === 'bot' }
}
