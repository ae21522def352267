import type { Redis } from 'ioredis'
import { eachLimited } from './each-limited.ts'

// A pending hash moves to Cassandra without losing a field: the hash is taken whole by an atomic
// rename, and each field leaves the renamed hash only after the write it feeds succeeded. Counters
// are not idempotent, so a crash between the two re-counts the writes in flight (at most one unit
// per FOLD_CONCURRENCY), never more. Clicks (click-folder.ts) and their dimensions
// (dimension-folder.ts) are folded this way, each from a hash of its own.

export interface FoldUnit {
  /** The hash fields this write folds; deleted from the hash once it succeeded. */
  fields: string[]
  /** Writes to Cassandra; what it returns is added to the pass's count. */
  apply: () => Promise<number>
}

export interface HashNames {
  pending: string
  folding: (worker: string) => string
  foldingPattern: string
  foldingIndex: string
}

export interface HashFolderDeps {
  redis: Redis
  names: HashNames
  /** The worker's heartbeat key (keys.workerHeartbeat): shared by every hash a worker folds. */
  heartbeatKey: (worker: string) => string
  workerId: string
  /** How long the heartbeat outlives its last refresh; past it, other workers adopt our hashes. */
  heartbeatTtlMs: number
  /** Turns a page of hash entries into writes; fields that can never be written are returned apart. */
  plan: (entries: Array<[field: string, value: string]>) => {
    units: FoldUnit[]
    rejected: string[]
    /** Runs once the page's units are written (what depends on all of them). */
    afterUnits?: () => Promise<void>
  }
  onRejected?: (fields: string[]) => void
  /** Writes in flight (FOLD_CONCURRENCY by default). */
  concurrency?: number
}

const HSCAN_COUNT = 2000
// One after the other, one update per round trip, a fold fell behind the distinct links that
// redirects touch. Counter updates go in unlogged counter batches, FOLD_CONCURRENCY
// in flight: as many updates at once as the bigger batches before, which folded no faster
// (key-worker/bench/fold-rate.ts, docs/benchmarks.md) and each drew a batch size warning from Cassandra.
const FOLD_CONCURRENCY = 16

export function createHashFolder (deps: HashFolderDeps) {
  const { redis, names, workerId } = deps
  const foldingBase = names.foldingPattern.slice(0, -1)
  let lastStamp = 0
  let indexedOldHashes = false

  /** A folding hash name of our own; strictly increasing so two never collide. */
  function ownName (): string {
    lastStamp = Math.max(Date.now(), lastStamp + 1)
    return names.folding(`${workerId}:${lastStamp}`)
  }

  function ownerOf (name: string): string | null {
    const rest = name.slice(foldingBase.length)
    const colon = rest.lastIndexOf(':')
    return name.startsWith(foldingBase) && colon > 0 ? rest.slice(0, colon) : null
  }

  async function heartbeat (): Promise<void> {
    await redis.set(deps.heartbeatKey(workerId), String(Date.now()), 'PX', deps.heartbeatTtlMs)
  }

  /**
   * Folds a hash page by page. Once `signal` aborts it stops after the page in flight and leaves
   * the rest in the hash, still ours: adopted by another worker once our heartbeat is gone (at
   * once after a clean stop), or folded by us on our next pass.
   */
  async function foldHash (name: string, signal?: AbortSignal): Promise<number> {
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
      const { units, rejected, afterUnits } = deps.plan(entries)
      if (rejected.length > 0) deps.onRejected?.(rejected)
      // On a failure every field is either folded and deleted, or still in the hash for the next pass.
      await eachLimited(units, deps.concurrency ?? FOLD_CONCURRENCY, async (unit) => {
        const count = await unit.apply()
        await redis.hdel(name, ...unit.fields)
        folded += count
      })
      await afterUnits?.()
      if (signal?.aborted === true && cursor !== '0') return folded
    } while (cursor !== '0')
    // Only rejected fields can be left by now.
    await redis.multi().del(name).srem(names.foldingIndex, name).exec()
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
        const [next, found] = await redis.scan(cursor, 'MATCH', names.foldingPattern, 'COUNT', 1000)
        cursor = next
        if (found.length > 0) await redis.sadd(names.foldingIndex, ...found)
      } while (cursor !== '0')
      indexedOldHashes = true
    }
    return await redis.smembers(names.foldingIndex)
  }

  /** Renames `from` to a name of ours and indexes it, atomically; false when `from` is gone. */
  async function take (from: string, to: string): Promise<boolean> {
    return await redis.eval(TAKE, 3, from, to, names.foldingIndex) === 1
  }

  return {
    heartbeat,

    /** Called on a clean shutdown, after the last fold: whatever is left may be adopted at once. */
    async stopHeartbeat (): Promise<void> {
      await redis.del(deps.heartbeatKey(workerId))
    },

    /** Folds the clicks recorded since the last pass; the number of clicks folded. */
    async foldPending (signal?: AbortSignal): Promise<number> {
      await heartbeat()
      const name = ownName()
      return await take(names.pending, name) ? foldHash(name, signal) : 0
    },

    /**
     * Folds hashes a fold did not finish: our own (a crash, or a failed pass) and those of
     * workers whose heartbeat expired. The rename is atomic, so of several workers adopting one
     * hash exactly one gets it.
     */
    async foldLeftovers (signal?: AbortSignal): Promise<number> {
      await heartbeat()
      let folded = 0
      for (const name of await foldingHashes()) {
        const owner = ownerOf(name)
        if (owner === null) {
          await redis.srem(names.foldingIndex, name)
        } else if (owner === workerId) {
          folded += await foldHash(name, signal)
        } else if (await redis.exists(deps.heartbeatKey(owner)) === 0) {
          const adopted = ownName()
          // Of several workers adopting one hash exactly one renames it; a name whose hash is
          // gone (its worker died between DEL and SREM) leaves the index here.
          if (await take(name, adopted)) folded += await foldHash(adopted, signal)
        }
      }
      return folded
    }
  }
}
export type HashFolder = ReturnType<typeof createHashFolder>

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
