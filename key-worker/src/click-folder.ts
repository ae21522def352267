import { canBeKey } from '@shortwave/common/keys'
import type { LinkRepository } from '@shortwave/common/link-repository'
import { parseClickField, type RedisKeys } from '@shortwave/common/redis-keys'
import type { Redis } from 'ioredis'

// Clicks move from Redis to Cassandra without being lost: the pending hash is taken whole by an
// atomic rename, and each field leaves the renamed hash only after its counter update succeeded.
// Counters are not idempotent, so a crash between the two re-counts the updates in flight
// (at most FOLD_BATCH x FOLD_CONCURRENCY), never more.

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
export function groupClicks (entries: Array<[field: string, value: string]>): { groups: ClickGroup[], rejected: string[] } {
  const groups = new Map<string, ClickGroup>()
  const rejected: string[] = []
  for (const [field, value] of entries) {
    const parsed = parseClickField(field)
    const count = Number(value)
    if (!parsed || !isDay(parsed.day) || !canBeKey(parsed.key) || !Number.isSafeInteger(count) || count <= 0) {
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

function isDay (day: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day)
}

export interface ClickFolderDeps {
  redis: Redis
  keys: Pick<RedisKeys, 'clicksPending' | 'clicksFolding' | 'clicksFoldingPattern' | 'workerHeartbeat'>
  repo: Pick<LinkRepository, 'addClicksBatch'>
  workerId: string
  /** How long the heartbeat outlives its last refresh; past it, other workers adopt our hashes. */
  heartbeatTtlMs: number
  onFolded?: (group: ClickGroup) => void
  onRejected?: (fields: string[]) => void
}

const HSCAN_COUNT = 2000
// One after the other, one update per round trip, a fold managed ~860 key-day groups/s: fewer
// than the distinct links a few thousand redirects/s touch. Counter updates now go FOLD_BATCH to
// an unlogged counter batch, FOLD_CONCURRENCY batches in flight.
const FOLD_BATCH = 50
const FOLD_CONCURRENCY = 8

export function createClickFolder (deps: ClickFolderDeps) {
  const { redis, keys, repo, workerId } = deps
  const foldingBase = keys.clicksFoldingPattern.slice(0, -1)
  let lastStamp = 0

  /** A folding hash name of our own; strictly increasing so two never collide. */
  function ownName (): string {
    lastStamp = Math.max(Date.now(), lastStamp + 1)
    return keys.clicksFolding(`${workerId}:${lastStamp}`)
  }

  function ownerOf (name: string): string | null {
    const rest = name.slice(foldingBase.length)
    const colon = rest.lastIndexOf(':')
    return name.startsWith(foldingBase) && colon > 0 ? rest.slice(0, colon) : null
  }

  async function heartbeat (): Promise<void> {
    await redis.set(keys.workerHeartbeat(workerId), String(Date.now()), 'PX', deps.heartbeatTtlMs)
  }

  async function foldHash (name: string): Promise<number> {
    // HSCAN keeps each command short on a large backlog; it may repeat a field, hence `seen`.
    const seen = new Set<string>()
    let folded = 0
    let cursor = '0'
    do {
      await heartbeat()
      const [next, flat] = await redis.hscan(name, cursor, 'COUNT', HSCAN_COUNT)
      cursor = next
      const entries: Array<[string, string]> = []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i]!
        if (!seen.has(field)) entries.push([field, flat[i + 1]!])
        seen.add(field)
      }
      const { groups, rejected } = groupClicks(entries)
      if (rejected.length > 0) deps.onRejected?.(rejected)
      await eachLimited(chunks(groups, FOLD_BATCH), FOLD_CONCURRENCY, async (batch) => {
        await repo.addClicksBatch(batch)
        await redis.hdel(name, ...batch.flatMap((group) => group.fields))
        for (const group of batch) {
          folded += group.clicks + group.botClicks
          deps.onFolded?.(group)
        }
      })
    } while (cursor !== '0')
    // Only rejected fields can be left by now.
    await redis.del(name)
    return folded
  }

  async function scanFoldingHashes (): Promise<string[]> {
    const names = new Set<string>()
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.clicksFoldingPattern, 'COUNT', 1000)
      cursor = next
      for (const name of found) names.add(name)
    } while (cursor !== '0')
    return [...names]
  }

  return {
    heartbeat,

    /** Called on a clean shutdown, after the last fold: whatever is left may be adopted at once. */
    async stopHeartbeat (): Promise<void> {
      await redis.del(keys.workerHeartbeat(workerId))
    },

    /** Folds the clicks recorded since the last pass; the number of clicks folded. */
    async foldPending (): Promise<number> {
      await heartbeat()
      const name = ownName()
      return await renameIfExists(redis, keys.clicksPending, name) ? foldHash(name) : 0
    },

    /**
     * Folds hashes a fold did not finish: our own (a crash, or a failed pass) and those of
     * workers whose heartbeat expired. RENAME is atomic, so of several workers adopting one
     * hash exactly one gets it.
     */
    async foldLeftovers (): Promise<number> {
      await heartbeat()
      let folded = 0
      for (const name of await scanFoldingHashes()) {
        const owner = ownerOf(name)
        if (owner === null) continue
        if (owner === workerId) {
          folded += await foldHash(name)
        } else if (await redis.exists(keys.workerHeartbeat(owner)) === 0) {
          const adopted = ownName()
          if (await renameIfExists(redis, name, adopted)) folded += await foldHash(adopted)
        }
      }
      return folded
    }
  }
}
export type ClickFolder = ReturnType<typeof createClickFolder>

function chunks<T> (items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Runs `task` over the items, at most `limit` at a time. The first failure stops new tasks
 * from starting and is thrown once the ones in flight have settled: their fields are either
 * folded and deleted, or still in the hash for the next pass.
 */
async function eachLimited<T> (items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  async function lane (): Promise<void> {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!
      try {
        await task(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  if (failure !== undefined) throw failure.error
}

/** RENAMENX that treats a missing source as "someone else got there first". */
async function renameIfExists (redis: Redis, from: string, to: string): Promise<boolean> {
  try {
    return await redis.renamenx(from, to) === 1
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return false
    throw error
  }
}
