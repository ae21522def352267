import type { Redis } from 'ioredis'

// The salted hashes of one interval's visitors, per day and link, added to a HyperLogLog per
// link-day. PFADD is idempotent, so unlike the click counts a chunk may be sent twice: after a
// failure the hashes are kept (up to maxHashes) and sent again.

export interface VisitorBufferOptions {
  redis: Redis
  /** The HyperLogLog of a link on a day (keys.visitors). */
  keyOf: (day: string, scope: string) => string
  /** Hashes held; past it new ones are dropped (unique visitors are an estimate anyway). */
  maxHashes: number
  /** How long a HyperLogLog outlives its last addition: the fold reads it for days still clicked. */
  ttlSeconds: number
}

// Commands per pipeline: keeps one flush from holding the event loop for long.
const PIPELINE = 200

export function createVisitorBuffer (opts: VisitorBufferOptions) {
  let sets = new Map<string, Set<string>>()
  let held = 0
  const stats = { added: 0, dropped: 0, flushErrors: 0 }

  function add (day: string, scope: string, hash: string): void {
    addTo(opts.keyOf(day, scope), hash)
  }

  function addTo (key: string, hash: string): void {
    let set = sets.get(key)
    if (set === undefined) {
      if (held >= opts.maxHashes) {
        stats.dropped++
        return
      }
      set = new Set()
      sets.set(key, set)
    }
    if (set.has(hash)) return
    if (held >= opts.maxHashes) {
      stats.dropped++
      return
    }
    set.add(hash)
    held++
  }

  return {
    stats,
    add,

    /** Sends what is held; on a failure keeps what was not confirmed for the next flush. */
    async flush (): Promise<unknown> {
      if (sets.size === 0) return null
      const batch = [...sets]
      sets = new Map()
      held = 0
      for (let i = 0; i < batch.length; i += PIPELINE) {
        const slice = batch.slice(i, i + PIPELINE)
        const pipeline = opts.redis.pipeline()
        for (const [key, hashes] of slice) pipeline.pfadd(key, ...hashes).expire(key, opts.ttlSeconds)
        const error = await pipeline.exec().then(
          (replies) => replies === null ? new Error('pipeline discarded') : replies.find(([err]) => err !== null)?.[0] ?? null,
          (err: unknown) => err)
        if (error) {
          stats.flushErrors++
          for (const [key, hashes] of batch.slice(i)) for (const hash of hashes) addTo(key, hash)
          return error
        }
        for (const [, hashes] of slice) stats.added += hashes.size
      }
      return null
    },

    get held (): number {
      return held
    }
  }
}
export type VisitorBuffer = ReturnType<typeof createVisitorBuffer>
