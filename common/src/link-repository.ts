import cassandra from 'cassandra-driver'
import { bucketOf } from './keys.ts'

// All CQL Shortwave runs against the links and counters tables. Every value is a bound
// parameter of a prepared statement (invariant 3); there is no string building here.

export interface Link {
  key: string
  url: string
  createdAt: Date
  expiresAt: Date | null
  owner: string | null
}

export type LinkState = 'pooled' | 'active' | 'deleted'

export interface ClaimResult {
  claimed: string[]
  conflicts: string[]
}

const Q = {
  find: 'SELECT state, url, created_at, expires_at, owner FROM links WHERE bucket = ? AND key = ?',
  insertIfAbsent: 'INSERT INTO links (bucket, key, state, url, created_at, expires_at, owner, claimed_at, claimed_by) VALUES (?, ?, \'active\', ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  activate: 'UPDATE links SET state = \'active\', url = ?, created_at = ?, expires_at = ?, owner = ? WHERE bucket = ? AND key = ?',
  claim: 'INSERT INTO links (bucket, key, state, claimed_at, claimed_by) VALUES (?, ?, \'pooled\', ?, ?) IF NOT EXISTS',
  clicks: 'SELECT day, clicks, bot_clicks FROM link_clicks_daily WHERE key = ?',
  addClicks: 'UPDATE link_clicks_daily SET clicks = clicks + ?, bot_clicks = bot_clicks + ? WHERE key = ? AND day = ?'
} as const

function toLink (key: string, row: cassandra.types.Row): Link | null {
  if (row['state'] !== 'active' || row['url'] == null) return null
  return {
    key,
    url: row['url'] as string,
    createdAt: row['created_at'] as Date,
    expiresAt: (row['expires_at'] as Date | null) ?? null,
    owner: (row['owner'] as string | null) ?? null
  }
}

export function isLive (link: Pick<Link, 'expiresAt'>, now = Date.now()): boolean {
  return link.expiresAt === null || link.expiresAt.getTime() > now
}

export interface DailyClicks {
  day: string
  clicks: number
  botClicks: number
}

export function createLinkRepository (client: cassandra.Client) {
  return {
    /** The active link stored under the key, or null (unknown, still pooled, or deleted). Expiry is the caller's call. */
    async find (key: string): Promise<Link | null> {
      const result = await client.execute(Q.find, [bucketOf(key), key], { prepare: true })
      const row = result.first()
      return row ? toLink(key, row) : null
    },

    /**
     * Claims the key and stores the link in one lightweight transaction: used for aliases and
     * when create-service has to generate a key itself. False when the key was already taken.
     */
    async insertIfAbsent (link: Link, claimedBy: string): Promise<boolean> {
      const result = await client.execute(Q.insertIfAbsent, [
        bucketOf(link.key), link.key, link.url, link.createdAt, link.expiresAt, link.owner, link.createdAt, claimedBy
      ], { prepare: true })
      return result.wasApplied()
    },

    /** Stores a link under a key the key-worker already claimed and the pool handed out exactly once. */
    async activatePooled (link: Link): Promise<void> {
      await client.execute(Q.activate, [link.url, link.createdAt, link.expiresAt, link.owner, bucketOf(link.key), link.key], { prepare: true })
    },

    /**
     * Claims keys that all share one bucket (one partition) in one conditional batch: one Paxos
     * round for the whole batch. If any key exists the batch applies nothing, so it is retried
     * once without the keys Cassandra reported as existing.
     */
    async claimBatch (keys: string[], claimedBy: string): Promise<ClaimResult> {
      const conflicts: string[] = []
      let pending = keys
      for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
        const bucket = bucketOf(pending[0]!)
        if (pending.some((k) => bucketOf(k) !== bucket)) throw new RangeError('claimBatch needs keys from one bucket')
        const now = new Date()
        const queries = pending.map((key) => ({ query: Q.claim, params: [bucket, key, now, claimedBy] }))
        const result = await client.batch(queries, { prepare: true })
        if (result.wasApplied()) return { claimed: pending, conflicts }
        const existing = new Set(result.rows.filter((r) => r['key'] != null).map((r) => r['key'] as string))
        if (existing.size === 0) break // not applied for a reason we cannot attribute to a key: claim nothing
        conflicts.push(...pending.filter((k) => existing.has(k)))
        pending = pending.filter((k) => !existing.has(k))
      }
      return { claimed: [], conflicts }
    },

    async dailyClicks (key: string): Promise<DailyClicks[]> {
      const result = await client.execute(Q.clicks, [key], { prepare: true })
      return result.rows.map((r) => ({
        day: (r['day'] as cassandra.types.LocalDate).toString(),
        clicks: Number(r['clicks'] ?? 0),
        botClicks: Number(r['bot_clicks'] ?? 0)
      }))
    },

    async totalClicks (key: string): Promise<number> {
      const days = await this.dailyClicks(key)
      return days.reduce((sum, d) => sum + d.clicks, 0)
    },

    async addClicks (key: string, day: string, clicks: number, botClicks: number): Promise<void> {
      await client.execute(Q.addClicks, [
        cassandra.types.Long.fromNumber(clicks), cassandra.types.Long.fromNumber(botClicks), key, cassandra.types.LocalDate.fromString(day)
      ], { prepare: true })
    }
  }
}
export type LinkRepository = ReturnType<typeof createLinkRepository>
