import { linkScope, monthsBetween, ownerScope, type ClickRollups, type DayValueCount, type RollupCount } from '@shortwave/common/click-rollups'
import { InvalidStatsQueryError, PurgeRunningError } from '@shortwave/common/errors'
import { CLICK_BATCH_MAX, type DailyClicks, type LinkRepository } from '@shortwave/common/link-repository'
import type { RedisKeys } from '@shortwave/common/redis-keys'
import { AUDIENCE, LINK, OTHER } from '@shortwave/common/stats-dimensions'
import type { Redis } from 'ioredis'

// GET /api/v1/links/{key}/stats, GET /api/v1/stats and DELETE …/stats. How each is served:
// - a link, by=day: its link_clicks_daily partition (exact, as before analytics), with the day's
//   unique visitors from unique_visitors_daily;
// - a link or an owner, by=<dimension>: one slice of clicks_by_dimension per month of the range,
//   summed per value; `clicks` is the sum of the rows, so the rows always add up to it;
// - an owner, by=day: the same slices of the 'audience' dimension (people and bots) per day.
// uniqueVisitors is the sum of the days' unique visitors (a visitor of two days counts twice).

export type StatsBy = 'day' | 'link' | 'referrer' | 'country' | 'device' | 'browser' | 'os' | 'utm_source' | 'utm_medium' | 'utm_campaign'

export interface StatsQuery {
  from?: string | undefined
  to?: string | undefined
  by?: StatsBy | undefined
  /** Rows kept (the most clicked); the rest are added up under `other`. Not for by=day. */
  limit?: number | undefined
}

export interface StatsRow {
  value: string
  clicks: number
  uniqueVisitors?: number
}

export interface StatsResult {
  from: string
  to: string
  by: StatsBy
  clicks: number
  botClicks: number
  uniqueVisitors: number
  rows: StatsRow[]
}

export interface LinkStatsResult extends StatsResult {
  /** The range's days with clicks (people or bots), oldest first. */
  daily: DailyClicks[]
}

export interface StatsServiceDeps {
  repo: Pick<LinkRepository, 'dailyClicks' | 'addClicksBatch'>
  rollups: ClickRollups
  redis: Redis
  keys: Pick<RedisKeys, 'visitors' | 'statsPurge'>
  now?: () => number
}

/** The longest range a dimension query reads (one Cassandra slice per month). */
export const RANGE_MAX_DAYS = 732
export const ROWS_DEFAULT = 100
const OWNER_DEFAULT_DAYS = 30
const DAY_MS = 86_400_000
// The Redis HyperLogLogs outlive their day by at most this (redirect-service's VISITORS_TTL_SECONDS).
const VISITOR_DAYS = 4
// Longer than any purge takes; a purge whose process died frees the link after it.
const PURGE_LOCK_MS = 60_000

const dayOf = (t: number): string => new Date(t).toISOString().slice(0, 10)

export function createStatsService (deps: StatsServiceDeps) {
  const { repo, rollups } = deps
  const now = deps.now ?? Date.now

  /** The range asked for, or [first, today]; a 400 when it cannot be read. */
  function rangeOf (query: StatsQuery, first: string, capped: boolean): { from: string, to: string } {
    const today = dayOf(now())
    const to = query.to ?? today
    let from = query.from ?? first
    for (const day of [from, to]) {
      if (!new Date(`${day}T00:00:00Z`).toISOString().startsWith(day)) throw new InvalidStatsQueryError(`${day} is not a day of the calendar`)
    }
    if (from > to) throw new InvalidStatsQueryError(`from (${from}) is after to (${to})`)
    const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1
    if (capped && span > RANGE_MAX_DAYS) {
      if (query.from !== undefined) throw new InvalidStatsQueryError(`from to to spans ${span} days; at most ${RANGE_MAX_DAYS} can be read at once`)
      from = dayOf(Date.parse(to) - (RANGE_MAX_DAYS - 1) * DAY_MS)
    }
    return { from, to }
  }

  async function visitorsOf (scope: string, from: string, to: string): Promise<Map<string, number>> {
    return new Map((await rollups.visitors(scope, from, to)).map((v) => [v.day, v.visitors]))
  }

  return {
    /** One link's statistics; `scopedKey` names its counters, `createdAt` bounds the default range. */
    async link (scopedKey: string, createdAt: Date, query: StatsQuery): Promise<LinkStatsResult> {
      const by = query.by ?? 'day'
      const scope = linkScope(scopedKey)
      const allDays = await repo.dailyClicks(scopedKey)
      // By day, every day counted by default (one partition read, however long); an imported link
      // can have clicks from before it was created here.
      const first = allDays.reduce((min, d) => d.day < min ? d.day : min, dayOf(createdAt.getTime()))
      const { from, to } = rangeOf(query, first, by !== 'day')
      const visitors = await visitorsOf(scope, from, to)
      const daily = allDays.filter((d) => d.day >= from && d.day <= to && (d.clicks !== 0 || d.botClicks !== 0))
        .sort((a, b) => a.day.localeCompare(b.day))
      const botClicks = daily.reduce((sum, d) => sum + d.botClicks, 0)
      const uniqueVisitors = [...visitors.values()].reduce((a, b) => a + b, 0)
      if (by === 'day') {
        const rows = daily.filter((d) => d.clicks > 0)
          .map((d) => ({ value: d.day, clicks: d.clicks, uniqueVisitors: visitors.get(d.day) ?? 0 }))
        return { from, to, by, clicks: sum(rows), botClicks, uniqueVisitors, rows, daily }
      }
      const rows = topRows(await rollups.range(scope, by, from, to), query.limit ?? ROWS_DEFAULT)
      return { from, to, by, clicks: sum(rows), botClicks, uniqueVisitors, rows, daily }
    },

    /** The statistics of all of an owner's links together (by=link: per link). */
    async owner (owner: string, query: StatsQuery): Promise<StatsResult> {
      const by = query.by ?? 'day'
      const { from, to } = rangeOf(query, dayOf(now() - (OWNER_DEFAULT_DAYS - 1) * DAY_MS), true)
      const scope = ownerScope(owner)
      const [audience, visitors] = await Promise.all([
        rollups.range(scope, AUDIENCE, from, to), visitorsOf(scope, from, to)
      ])
      const botClicks = audience.filter((r) => r.value === 'bot').reduce((s, r) => s + r.clicks, 0)
      const uniqueVisitors = [...visitors.values()].reduce((a, b) => a + b, 0)
      if (by === 'day') {
        const perDay = new Map<string, number>()
        for (const r of audience) if (r.value === 'people') perDay.set(r.day, (perDay.get(r.day) ?? 0) + r.clicks)
        const rows = [...perDay].filter(([, clicks]) => clicks > 0).sort(([a], [b]) => a.localeCompare(b))
          .map(([day, clicks]) => ({ value: day, clicks, uniqueVisitors: visitors.get(day) ?? 0 }))
        return { from, to, by, clicks: sum(rows), botClicks, uniqueVisitors, rows }
      }
      const rows = topRows(await rollups.range(scope, by, from, to), query.limit ?? ROWS_DEFAULT)
      return { from, to, by, clicks: sum(rows), botClicks, uniqueVisitors, rows }
    },

    /**
     * Takes a link's statistics away: its daily counts and its rollups (month by month since it
     * was created, each also taken off its owner's rollup), and its unique visitors. Counters are
     * set back to zero by subtracting what they hold, not deleted: Cassandra does not count again
     * into a counter once it is deleted, and the link keeps being clicked. A crash in between
     * leaves the owner's totals too high (a retry finds nothing more to subtract), never too low.
     * The owner's unique visitors stay (a HyperLogLog cannot give a visitor back). Clicks still on
     * their way (the seconds between a redirect and the fold) are counted after the purge.
     */
    async purge (scopedKey: string, createdAt: Date, owner: string | null): Promise<void> {
      const lock = deps.keys.statsPurge(scopedKey)
      if (await deps.redis.set(lock, '1', 'PX', PURGE_LOCK_MS, 'NX') === null) {
        throw new PurgeRunningError('the statistics of this link are being purged already; retry in a minute')
      }
      try {
        const scope = linkScope(scopedKey)
        const today = dayOf(now())
        for (const month of monthsBetween(dayOf(Math.min(createdAt.getTime(), now())), today)) {
          const byDay = new Map<string, RollupCount[]>()
          for (const r of await rollups.month(scope, month)) {
            if (r.clicks === 0) continue
            const list = byDay.get(r.day) ?? []
            list.push({ dimension: r.dimension, value: r.value, clicks: -r.clicks })
            if (r.dimension === AUDIENCE && r.value === 'people') list.push({ dimension: LINK, value: scopedKey, clicks: -r.clicks })
            byDay.set(r.day, list)
          }
          for (const [day, counts] of byDay) {
            await rollups.add(scope, day, counts.filter((c) => c.dimension !== LINK))
            if (owner !== null) await rollups.add(ownerScope(owner), day, counts)
          }
        }
        const days = (await repo.dailyClicks(scopedKey)).filter((d) => d.clicks !== 0 || d.botClicks !== 0)
        for (let i = 0; i < days.length; i += CLICK_BATCH_MAX) {
          const updates = days.slice(i, i + CLICK_BATCH_MAX)
            .map((d) => ({ key: scopedKey, day: d.day, clicks: -d.clicks, botClicks: -d.botClicks }))
          await repo.addClicksBatch(updates)
        }
        await rollups.dropVisitors(scope)
        const recent = Array.from({ length: VISITOR_DAYS }, (_, i) => dayOf(now() - i * DAY_MS))
        await deps.redis.del(...recent.map((day) => deps.keys.visitors(day, scope)))
      } finally {
        await deps.redis.del(lock)
      }
    }
  }
}
export type StatsService = ReturnType<typeof createStatsService>

function sum (rows: StatsRow[]): number {
  return rows.reduce((s, r) => s + r.clicks, 0)
}

/** Values summed over the range, the most clicked first; past `limit`, the rest under `other`. */
export function topRows (counts: DayValueCount[], limit: number): StatsRow[] {
  const perValue = new Map<string, number>()
  for (const c of counts) perValue.set(c.value, (perValue.get(c.value) ?? 0) + c.clicks)
  const rows = [...perValue].filter(([, clicks]) => clicks !== 0)
    .map(([value, clicks]) => ({ value, clicks }))
    .sort((a, b) => b.clicks - a.clicks || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  if (rows.length <= limit) return rows
  const kept = rows.slice(0, limit).filter((r) => r.value !== OTHER)
  const rest = rows.filter((r) => !kept.includes(r)).reduce((s, r) => s + r.clicks, 0)
  return [...kept, { value: OTHER, clicks: rest }].sort((a, b) => b.clicks - a.clicks || (a.value < b.value ? -1 : 1))
}
