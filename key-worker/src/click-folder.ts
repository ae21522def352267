import { isScopedKey } from '@shortwave/common/domains'
import { CLICK_BATCH_MAX, type LinkRepository } from '@shortwave/common/link-repository'
import { parseClickField, type RedisKeys } from '@shortwave/common/redis-keys'
import type { Redis } from 'ioredis'
import { createHashFolder, type HashFolder } from './hash-folder.ts'

// Clicks move from Redis to Cassandra's link_clicks_daily through hash-folder.ts: a crash re-counts
// at most the updates in flight (CLICK_BATCH_MAX x its FOLD_CONCURRENCY), never loses one.

export interface ClickGroup {
  key: string
  day: string
  clicks: number
  botClicks: number
  /** The hash fields this update folds (people and bots of one key and day). */
  fields: string[]
}

/**
 * Groups hash entries per key and day, so people and bot clicks take one counter update.
 * Fields that are not well-formed clicks are returned apart: they would fail every pass.
 */
export function groupClicks (
  entries: Array<[field: string, value: string]>
): { groups: ClickGroup[], rejected: string[] } {
  const groups = new Map<string, ClickGroup>()
  const rejected: string[] = []
  for (const [field, value] of entries) {
    const parsed = parseClickField(field)
    const count = Number(value)
    if (!parsed || !isDay(parsed.day) || !isScopedKey(parsed.key) || !Number.isSafeInteger(count) || count <= 0) {
      rejected.push(field)
      continue
    }
    const id = `${parsed.day}|${parsed.key}`
    let group = groups.get(id)
    if (!group) {
      group = { key: parsed.key, day: parsed.day, clicks: 0, botClicks: 0, fields: [] }
      groups.set(id, group)
    }
    if (parsed.bot) group.botClicks += count
    else group.clicks += count
    group.fields.push(field)
  }
  return { groups: [...groups.values()], rejected }
}

/**
 * Cuts the updates into counter batches of at most CLICK_BATCH_MAX (under Cassandra's batch size
 * warning), keeping the days of one key (one partition) together where they fit: Cassandra
 * applies those as one mutation.
 */
export function clickBatches (groups: ClickGroup[]): ClickGroup[][] {
  const byKey = new Map<string, ClickGroup[]>()
  for (const group of groups) {
    const days = byKey.get(group.key)
    if (days) days.push(group)
    else byKey.set(group.key, [group])
  }
  const batches: ClickGroup[][] = []
  let batch: ClickGroup[] = []
  for (const days of byKey.values()) {
    if (batch.length + days.length > CLICK_BATCH_MAX && batch.length > 0) {
      batches.push(batch)
      batch = []
    }
    for (const group of days) {
      if (batch.length === CLICK_BATCH_MAX) {
        batches.push(batch)
        batch = []
      }
      batch.push(group)
    }
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

export function isDay (day: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day)
}

export interface ClickFolderDeps {
  redis: Redis
  keys: Pick<RedisKeys, 'clicksPending' | 'clicksFolding' | 'clicksFoldingPattern' | 'clicksFoldingIndex' | 'workerHeartbeat'>
  repo: Pick<LinkRepository, 'addClicksBatch'>
  workerId: string
  /** How long the heartbeat outlives its last refresh; past it, other workers adopt our hashes. */
  heartbeatTtlMs: number
  onFolded?: (group: ClickGroup) => void
  onRejected?: (fields: string[]) => void
}

/** Folds the pending clicks into link_clicks_daily (hash-folder.ts says how nothing is lost). */
export function createClickFolder (deps: ClickFolderDeps): HashFolder {
  const { keys, repo } = deps
  return createHashFolder({
    redis: deps.redis,
    names: {
      pending: keys.clicksPending,
      folding: keys.clicksFolding,
      foldingPattern: keys.clicksFoldingPattern,
      foldingIndex: keys.clicksFoldingIndex
    },
    heartbeatKey: keys.workerHeartbeat,
    workerId: deps.workerId,
    heartbeatTtlMs: deps.heartbeatTtlMs,
    ...(deps.onRejected ? { onRejected: deps.onRejected } : {}),
    plan: (entries) => {
      const { groups, rejected } = groupClicks(entries)
      const units = clickBatches(groups).map((batch) => ({
        fields: batch.flatMap((group) => group.fields),
        apply: async () => {
          await repo.addClicksBatch(batch)
          let folded = 0
          for (const group of batch) {
            folded += group.clicks + group.botClicks
            deps.onFolded?.(group)
          }
          return folded
        }
      }))
      return { units, rejected }
    }
  })
}
export type ClickFolder = HashFolder
