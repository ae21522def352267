import { linkScope, monthOf, ownerScope, type ClickRollups, type RollupCount } from '@shortwave/common/click-rollups'
import { isScopedKey } from '@shortwave/common/domains'
import { parseDimensionField, type RedisKeys } from '@shortwave/common/redis-keys'
import { AUDIENCE, FOLDED_DIMENSIONS, LINK, OTHER, VALUE_CAPS } from '@shortwave/common/stats-dimensions'
import type { Redis } from 'ioredis'
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
  rollups: Pick<ClickRollups, 'add' | 'storedValues' | 'setVisitors' | 'markMonth'>
  /** The owner of a link (by its scoped key), null for an anonymous or unknown one. */
  ownerOf: (scopedKey: string) => Promise<string | null>
  workerId: string
  heartbeatTtlMs: number
  /** How long an owner's HyperLogLog of a day outlives its last merge. */
  visitorsTtlSeconds: number
  onFolded?: (group: DimensionGroup, people: number) => void
  onRejected?: (fields: string[]) => void
}

// (scope, day, dimension) whose stored values are remembered: the active link-days of a few folds.
const CAP_MEMORY = 20_000
// Scope-months known to be in stats_scopes_by_month.
const MONTH_MEMORY = 100_000

export function createDimensionFolder (deps: DimensionFolderDeps): HashFolder {
  const { keys, rollups, redis } = deps
  const known = new Map<string, Set<string>>()
  const marked = new Set<string>()

  /** The values a scope keeps for a day and dimension: the first `cap` distinct, the rest `other`. */
  async function capped (scope: string, day: string, counts: Map<string, Map<string, number>>): Promise<RollupCount[]> {
    const out: RollupCount[] = []
    for (const [dimension, values] of counts) {
      const cap = VALUE_CAPS[dimension]
      if (cap === undefined) {
        for (const [value, clicks] of values) out.push({ dimension, value, clicks })
        continue
      }
      const id = `${scope}|${day}|${dimension}`
      let stored = known.get(id)
      if (stored === undefined) {
        stored = new Set(await rollups.storedValues(scope, day, dimension, cap + 1))
        if (known.size >= CAP_MEMORY) known.delete(known.keys().next().value!)
        known.set(id, stored)
      }
      const merged = new Map<string, number>()
      for (const [value, clicks] of values) {
        let as = value
        if (value !== OTHER && !stored.has(value)) {
          if (storedBesideOther(stored) < cap) stored.add(value)
          else as = OTHER
        }
        merged.set(as, (merged.get(as) ?? 0) + clicks)
      }
      for (const [value, clicks] of merged) out.push({ dimension, value, clicks })
    }
    return out
  }

  async function markMonth (scope: string, day: string): Promise<void> {
    const id = `${scope}|${monthOf(day)}`
    if (marked.has(id)) return
    await rollups.markMonth(scope, monthOf(day))
    if (marked.size >= MONTH_MEMORY) marked.clear()
    marked.add(id)
  }

  async function foldScope (scope: string, day: string, counts: Map<string, Map<string, number>>): Promise<void> {
    // Marked first: a scope with rows is always found by the retention sweep.
    await markMonth(scope, day)
    await rollups.add(scope, day, await capped(scope, day, counts))
  }

  async function foldGroup (group: DimensionGroup): Promise<number> {
    const scope = linkScope(group.key)
    await foldScope(scope, group.day, group.counts)
    const people = group.counts.get(AUDIENCE)?.get('people') ?? 0
    const bots = group.counts.get(AUDIENCE)?.get('bot') ?? 0
    const linkVisitors = keys.visitors(group.day, scope)
    const visitors = people > 0 ? await redis.pfcount(linkVisitors) : 0
    if (visitors > 0) await rollups.setVisitors(scope, group.day, visitors)

    const owner = await deps.ownerOf(group.key)
    if (owner !== null) {
      const ownerCounts = new Map(group.counts)
      if (people > 0) ownerCounts.set(LINK, new Map([[group.key, people]]))
      const owned = ownerScope(owner)
      await foldScope(owned, group.day, ownerCounts)
      if (visitors > 0) {
        // A union: merging the same link's visitors again changes nothing.
        const ownerVisitors = keys.visitors(group.day, owned)
        const [, [, count]] = await redis.multi()
          .pfmerge(ownerVisitors, ownerVisitors, linkVisitors)
          .pfcount(ownerVisitors)
          .expire(ownerVisitors, deps.visitorsTtlSeconds)
          .exec() as [[null, unknown], [null, number], [null, unknown]]
        await rollups.setVisitors(owned, group.day, count)
      }
    }
    deps.onFolded?.(group, people)
    return people + bots
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
    plan: (entries) => {
      const { groups, rejected } = groupDimensions(entries)
      return { units: groups.map((group) => ({ fields: group.fields, apply: () => foldGroup(group) })), rejected }
    }
  })
}

function storedBesideOther (stored: Set<string>): number {
  return stored.has(OTHER) ? stored.size - 1 : stored.size
}
