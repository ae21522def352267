import { linkScope, monthOf, ownerScope, type ClickRollups, type RollupCount } from '@shortwave/common/click-rollups'
import { isScopedKey } from '@shortwave/common/domains'
import { parseDimensionField, type RedisKeys } from '@shortwave/common/redis-keys'
import { AUDIENCE, FOLDED_DIMENSIONS, LINK, OTHER, VALUE_CAPS } from '@shortwave/common/stats-dimensions'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { createHashFolder, type HashFolder } from './hash-folder.ts'
import { isDay } from './click-folder.ts'

// A click's dimensions move from Redis (the redirect's flush) to clicks_by_dimension through the
// same rename-scan-delete as clicks (hash-folder.ts). A link-day's fields become one counter batch
// in the link's month partition, then the same counts (and one per link) in its owner's; then the
// day's unique visitors are read from the HyperLogLog and written beside them.

export interface DimensionGroup {
  key: string
  day: string
  /** dimension → value → clicks */
  counts: Map<string, Map<string, number>>
  fields: string[]
}

export function groupDimensions (
  entries: Array<[field: string, value: string]>
): { groups: DimensionGroup[], rejected: string[] } {
  const groups = new Map<string, DimensionGroup>()
  const rejected: string[] = []
  for (const [field, value] of entries) {
    const parsed = parseDimensionField(field)
    const count = Number(value)
    if (!parsed || !isDay(parsed.day) || !isScopedKey(parsed.key) || !FOLDED_DIMENSIONS.has(parsed.dimension) ||
      parsed.value === '' || !Number.isSafeInteger(count) || count <= 0) {
      rejected.push(field)
      continue
    }
    const id = `${parsed.day}|${parsed.key}`
    let group = groups.get(id)
    if (!group) {
      group = { key: parsed.key, day: parsed.day, counts: new Map(), fields: [] }
      groups.set(id, group)
    }
    let values = group.counts.get(parsed.dimension)
    if (!values) group.counts.set(parsed.dimension, values = new Map())
    values.set(parsed.value, (values.get(parsed.value) ?? 0) + count)
    group.fields.push(field)
  }
  return { groups: [...groups.values()], rejected }
}

export interface DimensionFolderDeps {
  redis: Redis
  keys: Pick<RedisKeys, 'dimensionsPending' | 'dimensionsFolding' | 'dimensionsFoldingPattern' | 'dimensionsFoldingIndex' |
    'workerHeartbeat' | 'visitors'>
  rollups: Pick<ClickRollups, 'add' | 'storedValues' | 'note'>
  /** The owner of a link (by its scoped key), null for an anonymous or unknown one. */
  ownerOf: (scopedKey: string) => Promise<string | null>
  workerId: string
  heartbeatTtlMs: number
  /** How long an owner's HyperLogLog of a day outlives its last merge. */
  visitorsTtlSeconds: number
  onFolded?: (group: DimensionGroup, people: number) => void
  onRejected?: (fields: string[]) => void
}

// (scope, day, dimension) whose written values are remembered: the active link-days of a few folds.
const CAP_MEMORY = 20_000
// Scope-months known to be in stats_scopes_by_month.
const MONTH_MEMORY = 100_000

export function createDimensionFolder (deps: DimensionFolderDeps): HashFolder {
  const { keys, rollups, redis } = deps
  // Per scope, day and dimension: the values this worker wrote, and whether it has read what Cassandra holds.
  const written = new LRUCache<string, { values: Set<string>, full: boolean }>({ max: CAP_MEMORY })
  const marked = new LRUCache<string, true>({ max: MONTH_MEMORY })
  const lastVisitors = new LRUCache<string, number>({ max: CAP_MEMORY })

  /**
   * The values a scope keeps for a day and dimension: the first `cap` distinct, the rest `other`.
   * Most link-days have a handful of referrers, so Cassandra is asked what a scope-day holds only
   * once this worker has itself written `cap` values there: no read on the common path. Another
   * worker (or this one before a restart) may have written others, so a scope-day can hold up to
   * `cap` values per worker that folded it, never more.
   */
  async function capped (scope: string, day: string, counts: Map<string, Map<string, number>>): Promise<RollupCount[]> {
    const out: RollupCount[] = []
    for (const [dimension, values] of counts) {
      const cap = VALUE_CAPS[dimension]
      if (cap === undefined) {
        for (const [value, clicks] of values) out.push({ dimension, value, clicks })
        continue
      }
      const id = `${scope}|${day}|${dimension}`
      let known = written.get(id)
      if (known === undefined) written.set(id, known = { values: new Set(), full: false })
      const merged = new Map<string, number>()
      for (const [value, clicks] of values) {
        let as = value
        if (value !== OTHER && !known.values.has(value)) {
          if (!known.full && withoutOther(known.values) >= cap) {
            // What Cassandra holds decides: the values other folds wrote count too.
            for (const stored of await rollups.storedValues(scope, day, dimension, cap + 1)) known.values.add(stored)
            known.full = true
          }
          if (withoutOther(known.values) < cap) known.values.add(value)
          else as = OTHER
        }
        merged.set(as, (merged.get(as) ?? 0) + clicks)
      }
      for (const [value, clicks] of merged) out.push({ dimension, value, clicks })
    }
    return out
  }

  /** Whether this worker has yet to note the scope's month in stats_scopes_by_month (once per process). */
  function unmarked (scope: string, day: string): boolean {
    const id = `${scope}|${monthOf(day)}`
    if (marked.has(id)) return false
    marked.set(id, true)
    return true
  }

  /** Visitors of a scope-day as last written here: an unchanged count is not written again. */
  function changedVisitors (scope: string, day: string, visitors: number | null): number | null {
    if (visitors === null) return null
    const id = `${scope}|${day}`
    if (lastVisitors.get(id) === visitors) return null
    lastVisitors.set(id, visitors)
    return visitors
  }

  async function foldScope (
    scope: string, day: string, counts: Map<string, Map<string, number>>, visitors: number | null
  ): Promise<void> {
    const month = unmarked(scope, day)
    visitors = changedVisitors(scope, day, visitors)
    try {
      // Before the counts: a scope with rows is always found by the retention sweep. The
      // visitors go along (set again by the next fold of the day if the counts fail now).
      if (month || visitors !== null) await rollups.note(scope, day, { month, visitors })
      await rollups.add(scope, day, await capped(scope, day, counts))
    } catch (error) {
      if (month) marked.delete(`${scope}|${monthOf(day)}`)
      lastVisitors.delete(`${scope}|${day}`)
      throw error
    }
  }

  async function foldGroup (
    group: DimensionGroup, linkVisitors: Promise<number>, ownerDays: Map<string, [string, string]>
  ): Promise<number> {
    const scope = linkScope(group.key)
    const people = group.counts.get(AUDIENCE)?.get('people') ?? 0
    const bots = group.counts.get(AUDIENCE)?.get('bot') ?? 0
    const visitors = people > 0 ? await linkVisitors : 0
    await foldScope(scope, group.day, group.counts, visitors > 0 ? visitors : null)

    const owner = await deps.ownerOf(group.key)
    if (owner !== null) {
      const ownerCounts = new Map(group.counts)
      if (people > 0) ownerCounts.set(LINK, new Map([[group.key, people]]))
      const owned = ownerScope(owner)
      if (visitors > 0) {
        // A union: merging the same link's visitors again changes nothing. The owner's count is
        // read once every link of the page is merged (countOwners): read per link, a count taken
        // before another link's merge could be written after the count that includes it.
        const key = keys.visitors(group.day, owned)
        await redis.multi().pfmerge(key, key, keys.visitors(group.day, scope))
          .expire(key, deps.visitorsTtlSeconds).exec()
        ownerDays.set(`${owned}|${group.day}`, [owned, group.day])
      }
      await foldScope(owned, group.day, ownerCounts, null)
    }
    deps.onFolded?.(group, people)
    return people + bots
  }

  /** Writes each owner-day's unique visitors, once all of a page's links are merged into it. */
  async function countOwners (ownerDays: Array<[scope: string, day: string]>): Promise<void> {
    if (ownerDays.length === 0) return
    const pipeline = redis.pipeline()
    for (const [scope, day] of ownerDays) pipeline.pfcount(keys.visitors(day, scope))
    const replies = await pipeline.exec()
    await Promise.all(ownerDays.map(async ([scope, day], i) => {
      const [error, count] = replies?.[i] ?? [new Error('pipeline discarded'), 0]
      if (error) throw error
      const visitors = changedVisitors(scope, day, Number(count))
      if (visitors === null) return
      await rollups.note(scope, day, { month: false, visitors }).catch((err: unknown) => {
        lastVisitors.delete(`${scope}|${day}`)
        throw err
      })
    }))
  }

  /** The unique visitors of each link-day of a page, in one round trip (0 for a link-day without people). */
  function visitorCounts (groups: DimensionGroup[]): Promise<number[]> {
    const pipeline = redis.pipeline()
    const asked: number[] = []
    groups.forEach((group, i) => {
      if ((group.counts.get(AUDIENCE)?.get('people') ?? 0) === 0) return
      pipeline.pfcount(keys.visitors(group.day, linkScope(group.key)))
      asked.push(i)
    })
    if (asked.length === 0) return Promise.resolve(groups.map(() => 0))
    return pipeline.exec().then((replies) => {
      const counts = groups.map(() => 0)
      asked.forEach((index, n) => {
        const [error, count] = replies?.[n] ?? [new Error('pipeline discarded'), 0]
        if (error) throw error
        counts[index] = Number(count)
      })
      return counts
    })
  }

  return createHashFolder({
    redis,
    names: {
      pending: keys.dimensionsPending,
      folding: keys.dimensionsFolding,
      foldingPattern: keys.dimensionsFoldingPattern,
      foldingIndex: keys.dimensionsFoldingIndex
    },
    heartbeatKey: keys.workerHeartbeat,
    workerId: deps.workerId,
    heartbeatTtlMs: deps.heartbeatTtlMs,
    ...(deps.onRejected ? { onRejected: deps.onRejected } : {}),
    // A link-day takes a few round trips (its rows, its owner's, its visitors), each small.
    concurrency: 32,
    plan: (entries) => {
      const { groups, rejected } = groupDimensions(entries)
      if (groups.length === 0) return { units: [], rejected }
      const counts = visitorCounts(groups)
      // Handled by each unit that awaits it; this only keeps a failure from being reported unhandled.
      counts.catch(() => {})
      const ownerDays = new Map<string, [string, string]>()
      const units = groups.map((group, i) => ({
        fields: group.fields, apply: () => foldGroup(group, counts.then((c) => c[i]!), ownerDays)
      }))
      return { units, rejected, afterUnits: () => countOwners([...ownerDays.values()]) }
    }
  })
}

function withoutOther (values: Set<string>): number {
  return values.has(OTHER) ? values.size - 1 : values.size
}
