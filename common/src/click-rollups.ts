import cassandra from 'cassandra-driver'
import { IDEMPOTENT } from './link-repository.ts'

// The analytics tables (migration 011-analytics): click counts per scope, month, dimension, day and
// value, and unique visitors per scope and day. A scope is a link ('link:<scoped key>') or an owner's
// links together ('owner:<owner>'). Written by the key-worker's fold, read and purged by create-service.

const { LocalDate, Long } = cassandra.types

export const linkScope = (scopedKey: string): string => `link:${scopedKey}`
export const ownerScope = (owner: string): string => `owner:${owner}`

/** 'YYYY-MM' of a 'YYYY-MM-DD' day: the partition a day's rows live in. */
export const monthOf = (day: string): string => day.slice(0, 7)

/** The months from one day's to another's, in order ('YYYY-MM'). */
export function monthsBetween (from: string, to: string): string[] {
  const months: string[] = []
  let [year, month] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))]
  const last = to.slice(0, 7)
  for (;;) {
    const m = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`
    if (m > last) return months
    months.push(m)
    month++
    if (month === 13) [year, month] = [year + 1, 1]
  }
}

export interface RollupCount {
  dimension: string
  value: string
  clicks: number
}

export interface DayValueCount {
  day: string
  value: string
  clicks: number
}

export const STATS_BUCKETS = 16

const Q = {
  add: 'UPDATE clicks_by_dimension SET clicks = clicks + ? WHERE scope = ? AND month = ? AND dimension = ? AND day = ? AND value = ?',
  values: 'SELECT value FROM clicks_by_dimension WHERE scope = ? AND month = ? AND dimension = ? AND day = ? LIMIT ?',
  range: 'SELECT day, value, clicks FROM clicks_by_dimension WHERE scope = ? AND month = ? AND dimension = ? AND day >= ? AND day <= ?',
  partition: 'SELECT dimension, day, value, clicks FROM clicks_by_dimension WHERE scope = ? AND month = ?',
  dropMonth: 'DELETE FROM clicks_by_dimension WHERE scope = ? AND month = ?',
  setVisitors: 'INSERT INTO unique_visitors_daily (scope, day, visitors) VALUES (?, ?, ?)',
  visitors: 'SELECT day, visitors FROM unique_visitors_daily WHERE scope = ? AND day >= ? AND day <= ?',
  dropVisitors: 'DELETE FROM unique_visitors_daily WHERE scope = ?',
  dropVisitorsBefore: 'DELETE FROM unique_visitors_daily WHERE scope = ? AND day < ?',
  markMonth: 'INSERT INTO stats_scopes_by_month (month, bucket, scope) VALUES (?, ?, ?)',
  scopesOfMonth: 'SELECT scope FROM stats_scopes_by_month WHERE month = ? AND bucket = ?',
  dropMonthIndex: 'DELETE FROM stats_scopes_by_month WHERE month = ? AND bucket = ?'
} as const

// Counter updates of one partition go in one unlogged batch (one mutation, exempt from the size
// warning); a link-day's fold is a few dozen rows at most, cut here to keep each batch small.
const PARTITION_BATCH_MAX = 50

export function createClickRollups (client: cassandra.Client) {
  return {
    /** Adds counts to one scope's rows of one day: one partition, so each batch is one mutation. */
    async add (scope: string, day: string, counts: RollupCount[]): Promise<void> {
      const date = LocalDate.fromString(day)
      const month = monthOf(day)
      for (let i = 0; i < counts.length; i += PARTITION_BATCH_MAX) {
        const queries = counts.slice(i, i + PARTITION_BATCH_MAX).map((c) => ({
          query: Q.add, params: [Long.fromNumber(c.clicks), scope, month, c.dimension, date, c.value]
        }))
        await client.batch(queries, { prepare: true, counter: true, logged: false })
      }
    },

    /** Up to `limit` values a scope already has for a day and dimension (the fold's cap). */
    async storedValues (scope: string, day: string, dimension: string, limit: number): Promise<string[]> {
      const params = [scope, monthOf(day), dimension, LocalDate.fromString(day), limit]
      const result = await client.execute(Q.values, params, IDEMPOTENT)
      return result.rows.map((r) => r['value'] as string)
    },

    /** Counts per day and value of one dimension over [from, to]: one slice per month. */
    async range (scope: string, dimension: string, from: string, to: string): Promise<DayValueCount[]> {
      const pages = await Promise.all(monthsBetween(from, to).map(async (month) => {
        const rows: DayValueCount[] = []
        const params = [scope, month, dimension, LocalDate.fromString(from), LocalDate.fromString(to)]
        // Async iteration fetches the next page as it goes: a busy month is not one response.
        for await (const r of await client.execute(Q.range, params, { ...IDEMPOTENT, fetchSize: 5000 })) {
          rows.push({ day: String(r['day']), value: r['value'] as string, clicks: Number(r['clicks']) })
        }
        return rows
      }))
      return pages.flat()
    },

    /** Every row of a scope's month (a purge reads what it takes away from the owner's rows). */
    async month (scope: string, month: string): Promise<Array<RollupCount & { day: string }>> {
      const rows: Array<RollupCount & { day: string }> = []
      for await (const r of await client.execute(Q.partition, [scope, month], { ...IDEMPOTENT, fetchSize: 5000 })) {
        rows.push({
          dimension: r['dimension'] as string, day: String(r['day']), value: r['value'] as string, clicks: Number(r['clicks'])
        })
      }
      return rows
    },

    /** Deletes a scope's month (the retention sweep: past months get no more clicks to count). */
    async dropMonth (scope: string, month: string): Promise<void> {
      await client.execute(Q.dropMonth, [scope, month], IDEMPOTENT)
    },

    /** Unique visitors per day over [from, to], newest first. */
    async visitors (scope: string, from: string, to: string): Promise<Array<{ day: string, visitors: number }>> {
      const params = [scope, LocalDate.fromString(from), LocalDate.fromString(to)]
      const result = await client.execute(Q.visitors, params, IDEMPOTENT)
      return result.rows.map((r) => ({ day: String(r['day']), visitors: Number(r['visitors']) }))
    },

    async dropVisitors (scope: string, before?: string): Promise<void> {
      if (before === undefined) await client.execute(Q.dropVisitors, [scope], IDEMPOTENT)
      else await client.execute(Q.dropVisitorsBefore, [scope, LocalDate.fromString(before)], IDEMPOTENT)
    },

    /**
     * In one round trip: notes that a scope has rows in a day's month (for the retention sweep),
     * and sets its unique visitors of the day; either may be left out.
     */
    async note (scope: string, day: string, opts: { month: boolean, visitors: number | null }): Promise<void> {
      const queries: Array<{ query: string, params: unknown[] }> = []
      if (opts.month) queries.push({ query: Q.markMonth, params: [monthOf(day), bucketOf(scope), scope] })
      if (opts.visitors !== null) {
        queries.push({ query: Q.setVisitors, params: [scope, LocalDate.fromString(day), opts.visitors] })
      }
      if (queries.length === 1) await client.execute(queries[0]!.query, queries[0]!.params, IDEMPOTENT)
      else if (queries.length > 1) await client.batch(queries, { prepare: true, logged: false })
    },

    async scopesOfMonth (month: string, bucket: number): Promise<string[]> {
      const scopes: string[] = []
      const result = await client.execute(Q.scopesOfMonth, [month, bucket], { ...IDEMPOTENT, fetchSize: 5000 })
      for await (const r of result) scopes.push(r['scope'] as string)
      return scopes
    },

    async dropMonthIndex (month: string, bucket: number): Promise<void> {
      await client.execute(Q.dropMonthIndex, [month, bucket], IDEMPOTENT)
    }
  }
}
export type ClickRollups = ReturnType<typeof createClickRollups>

/** A stable bucket of a scope in [0, STATS_BUCKETS). */
export function bucketOf (scope: string): number {
  let h = 0
  for (let i = 0; i < scope.length; i++) h = (h * 31 + scope.charCodeAt(i)) | 0
  return Math.abs(h) % STATS_BUCKETS
}
