import type { Redis } from 'ioredis'
import { clickField } from '@shortwave/common/redis-keys'

// Clicks are counted in memory and added to Redis once per interval, so a redirect never waits
// on Redis for them. The key-worker folds the Redis hash into Cassandra counters.

export interface ClickBufferOptions {
  redis: Redis
  /** The pending-clicks hash (keys.clicksPending). */
  hashKey: string
  /** Fields held before a flush starts early; while a flush is in flight, new fields beyond it are dropped. */
  maxFields: number
  now?: () => number
}

export interface ClickStats {
  recorded: number
  flushed: number
  flushErrors: number
  dropped: number
}

export interface FlushResult {
  flushed: number
  failed: number
  error?: unknown
}

const DAY_MS = 86_400_000
// Fields per Redis command. Once a second the buffer holds one field per link clicked; one HINCRBY
// each made a pipeline of thousands of ioredis commands when traffic spread over many links, and
// building and answering it stalled every redirect of the replica for tens of milliseconds (the
// p95/p99 of redirects served from Redis). One script call per CHUNK fields, one chunk at a time,
// keeps both the event loop and Redis free between chunks. Redis runs a script to its end while
// GETs wait: 500 fields took 0.8-1 ms (SLOWLOG, with 1,000,000 links clicked), 100 take ~0.2 ms.
const CHUNK = 100
const ADD_ALL = 'for i = 1, #ARGV, 2 do redis.call(\'HINCRBY\', KEYS[1], ARGV[i], ARGV[i + 1]) end return #ARGV / 2'

export function createClickBuffer (opts: ClickBufferOptions) {
  const now = opts.now ?? Date.now
  const stats: ClickStats = { recorded: 0, flushed: 0, flushErrors: 0, dropped: 0 }
  let counts = new Map<string, number>()
  let inFlight: Promise<FlushResult> | null = null
  let day = ''
  let dayEndsAt = 0

  // The UTC day changes once a day; formatting a date on every click would not be O(1)-cheap.
  function today (): string {
    const t = now()
    if (t >= dayEndsAt) {
      day = new Date(t).toISOString().slice(0, 10)
      dayEndsAt = (Math.floor(t / DAY_MS) + 1) * DAY_MS
    }
    return day
  }

  /** Puts counts back after a failed flush, within the same bound as record(). */
  function restore (field: string, count: number): void {
    const current = counts.get(field)
    if (current !== undefined) counts.set(field, current + count)
    else if (counts.size < opts.maxFields) counts.set(field, count)
    else stats.dropped += count
  }

  /** Adds one chunk to the hash: an error for the whole chunk, or null. */
  async function sendChunk (chunk: Array<[string, number]>): Promise<unknown> {
    const args: Array<string | number> = []
    for (const [field, count] of chunk) args.push(field, count)
    // Through a pipeline, so that a failure of the command or of the connection is a value here.
    const pipeline = opts.redis.pipeline()
    pipeline.eval(ADD_ALL, 1, opts.hashKey, ...args)
    return pipeline.exec().then((replies) => replies === null ? new Error('pipeline discarded') : replies[0]?.[0] ?? null, (error: unknown) => error)
  }

  async function send (batch: Map<string, number>): Promise<FlushResult> {
    const entries = [...batch]
    let flushed = 0
    let failed = 0
    let firstError: unknown
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK)
      // After a failure the rest is kept without trying: Redis is down or timing out, and waiting
      // for each chunk to fail in turn would hold the flush for seconds.
      const error = firstError ?? await sendChunk(chunk)
      for (const [field, count] of chunk) {
        if (error) {
          // A timed-out script may still have been applied: retrying can over-count a little,
          // which beats losing the clicks of a whole interval.
          restore(field, count)
          failed++
        } else {
          flushed += count
        }
      }
      if (error) firstError ??= error
    }
    stats.flushed += flushed
    if (failed === 0) return { flushed, failed }
    stats.flushErrors++
    return { flushed, failed, error: firstError }
  }

  function flush (): Promise<FlushResult> {
    if (inFlight !== null) return inFlight
    if (counts.size === 0) return Promise.resolve({ flushed: 0, failed: 0 })
    const batch = counts
    counts = new Map()
    inFlight = send(batch).finally(() => { inFlight = null })
    return inFlight
  }

  return {
    stats,

    /** Counts one click; synchronous and O(1), never touches Redis. */
    record (key: string, bot: boolean): void {
      stats.recorded++
      const field = clickField(today(), key, bot)
      const current = counts.get(field)
      if (current !== undefined) {
        counts.set(field, current + 1)
        return
      }
      if (counts.size >= opts.maxFields) {
        if (inFlight !== null) {
          stats.dropped++
          return
        }
        flush() // never rejects: failures are counted and the clicks kept
      }
      counts.set(field, 1)
    },

    flush,

    /** Waits for a flush in flight, then flushes what is left once (for shutdown). */
    async drain (): Promise<FlushResult> {
      if (inFlight !== null) await inFlight
      return flush()
    },

    get bufferedFields (): number {
      return counts.size
    }
  }
}
export type ClickBuffer = ReturnType<typeof createClickBuffer>
