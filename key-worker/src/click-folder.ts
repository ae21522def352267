import { isScopedKey } from '@shortwave/common/domains'
import { CLICK_BATCH_MAX, type LinkRepository } from '@shortwave/common/link-repository'
import { parseClickField, type RedisKeys } from '@shortwave/common/redis-keys'
import type { Redis } from 'ioredis'
import { eachLimited } from './each-limited.ts'

// Clicks move from Redis to Cassandra without being lost: the pending hash is taken whole by an
// atomic rename, and each field leaves the renamed hash only after its counter update succeeded.
// Counters are not idempotent, so a crash between the two re-counts the updates in flight
// (at most CLICK_BATCH_MAX x FOLD_CONCURRENCY), never more.

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

function isDay (day: string): boolean {
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

const HSCAN_COUNT = 2000
// One after the other, one update per round trip, a fold fell behind the distinct links that
// redirects touch. Counter updates go in unlogged counter batches (clickBatches), FOLD_CONCURRENCY
// in flight: as many updates at once as the bigger batches before, which folded no faster
// (key-worker/bench/fold-rate.ts, docs/benchmarks.md) and each drew a batch size warning from Cassandra.
const FOLD_CONCURRENCY = 16

export function createClickFolder (deps: ClickFolderDeps) {
  const { redis, keys, repo, workerId } = deps
  const foldingBase = keys.clicksFoldingPattern.slice(0, -1)
  let lastStamp = 0
  let indexedOldHashes = false

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
      // On a failure every field is either folded and deleted, or still in the hash for the next pass.
      await eachLimited(clickBatches(groups), FOLD_CONCURRENCY, async (batch) => {
        await repo.addClicksBatch(batch)
        await redis.hdel(name, ...batch.flatMap((group) => group.fields))
        for (const group of batch) {
          folded += group.clicks + group.botClicks
          deps.onFolded?.(group)
        }
      })
    } while (cursor !== '0')
    // Only rejected fields can be left by now.
    await redis.multi().del(name).srem(keys.clicksFoldingIndex, name).exec()
    return folded
  }

  /**
   * The folding hashes that exist. They are listed in an index written with each rename: finding
   * them by SCAN walked every key in Redis, cached links included, each time: a cost that grew
   * with the links cached and blocked the GETs of redirects (docs/benchmarks.md). One SCAN per
   * process start still lists the hashes of workers that predate the index, so an upgrade loses
   * no click.
   */
  async function foldingHashes (): Promise<string[]> {
    if (!indexedOldHashes) {
      let cursor = '0'
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', keys.clicksFoldingPattern, 'COUNT', 1000)
        cursor = next
        if (found.length > 0) await redis.sadd(keys.clicksFoldingIndex, ...found)
      } while (cursor !== '0')
      indexedOldHashes = true
    }
    return await redis.smembers(keys.clicksFoldingIndex)
  }

  /** Renames `from` to a name of ours and indexes it, atomically; false when `from` is gone. */
  async function take (from: string, to: string): Promise<boolean> {
    return await redis.eval(TAKE, 3, from, to, keys.clicksFoldingIndex) === 1
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
      return await take(keys.clicksPending, name) ? foldHash(name) : 0
    },

    /**
     * Folds hashes a fold did not finish: our own (a crash, or a failed pass) and those of
     * workers whose heartbeat expired. The rename is atomic, so of several workers adopting one
     * hash exactly one gets it.
     */
    async foldLeftovers (): Promise<number> {
      await heartbeat()
      let folded = 0
      for (const name of await foldingHashes()) {
        const owner = ownerOf(name)
        if (owner === null) {
          await redis.srem(keys.clicksFoldingIndex, name)
        } else if (owner === workerId) {
          folded += await foldHash(name)
        } else if (await redis.exists(keys.workerHeartbeat(owner)) === 0) {
          const adopted = ownName()
          // Of several workers adopting one hash exactly one renames it; a name whose hash is
          // gone (its worker died between DEL and SREM) leaves the index here.
          if (await take(name, adopted)) folded += await foldHash(adopted)
        }
      }
      return folded
    }
  }
}
export type ClickFolder = ReturnType<typeof createClickFolder>

// KEYS: the hash to take, our new name for it, the index. A missing source means someone else
// got there first (or nothing is pending); its name leaves the index either way.
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], KEYS[1])
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], KEYS[1])
redis.call('SADD', KEYS[3], KEYS[2])
return 1`
