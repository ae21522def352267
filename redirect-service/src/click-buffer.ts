import type { Redis } from 'ioredis'
import { clickField } from '@shortwave/common/redis-keys'

// Clicks are counted in memory and added to Redis once per interval, so a redirect never waits
// on Redis for them. The key-worker folds the Redis hash into Cassandra counters.

export interface ClickBufferOptions {
  redis: Redis
  /** The pending-clicks hash (keys.clicksPending). */
  hashKey: string
  /** Where Redis keeps the number of the last chunk it added for this buffer (keys.clicksFlushedSeq). */
  seqKey: string
  /** Fields held before a flush starts early; while a flush is in flight, new fields beyond it are dropped. */
  maxFields: number
  /** Fields per Redis command (CHUNK by default). */
  chunk?: number
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

/** A chunk sent whose reply never came: Redis may or may not have added it. */
interface Unconfirmed {
  seq: number
  entries: Array<[string, number]>
}

const DAY_MS = 86_400_000
// Fields per Redis command. Once a second the buffer holds one field per link clicked; one HINCRBY
// each made a pipeline of thousands of ioredis commands when traffic spread over many links, and
// building and answering it stalled every redirect of the replica for tens of milliseconds (the
// p95/p99 of redirects served from Redis). One script call per CHUNK fields, one chunk at a time,
// keeps both the event loop and Redis free between chunks. Redis runs a script to its end while
// GETs wait, so a chunk is small enough not to show in the redirects' p99 (docs/benchmarks.md).
export const CHUNK = 100
// A chunk is added once however often it is sent. A timeout does not mean Redis did not run the
// script: a replica whose event loop stalls past REDIS_TIMEOUT_MS times out on replies that
// already arrived (seen under overload: clicks counted twice in a k6 run when a timed-out
// chunk was simply retried). Chunks carry increasing numbers and are added strictly in order, so
// the number of the last one added is all Redis needs to recognise a chunk it has seen.
// KEYS: the pending hash, the sequence key. ARGV: the chunk's number, then field/count pairs.
// Returns 1 when added, 0 when it had been added before.
const ADD_ONCE = `
if tonumber(ARGV[1]) <= tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], ARGV[1])
return 1`

export function createClickBuffer (opts: ClickBufferOptions) {
  const now = opts.now ?? Date.now
  const chunk = opts.chunk ?? CHUNK
  const stats: ClickStats = { recorded: 0, flushed: 0, flushErrors: 0, dropped: 0 }
  let counts = new Map<string, number>()
  let inFlight: Promise<FlushResult> | null = null
  // At most one: after a failure nothing newer is sent until this one is confirmed.
  let unconfirmed: Unconfirmed | null = null
  let lastSeq = 0
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

  /** Puts back counts that were never sent, within the same bound as record(). */
  function restore (entries: Array<[string, number]>): void {
    for (const [field, count] of entries) {
      const current = counts.get(field)
      if (current !== undefined) counts.set(field, current + count)
      else if (counts.size < opts.maxFields) counts.set(field, count)
      else stats.dropped += count
    }
  }

  /** Sends one chunk: an error when its outcome is unknown, or null once Redis has it (now or before). */
  async function sendChunk ({ seq, entries }: Unconfirmed): Promise<unknown> {
    const args: Array<string | number> = [seq]
    for (const [field, count] of entries) args.push(field, count)
    // Through a pipeline, so that a failure of the command or of the connection is a value here.
    const pipeline = opts.redis.pipeline()
    pipeline.eval(ADD_ONCE, 2, opts.hashKey, opts.seqKey, ...args)
    return pipeline.exec().then((replies) => replies === null ? new Error('pipeline discarded') : replies[0]?.[0] ?? null, (error: unknown) => error)
  }

  async function send (batch: Map<string, number>): Promise<FlushResult> {
    // The chunk left unconfirmed by an earlier flush goes first, under its own number; numbers
    // only have to increase, so one taken by a chunk that is put back unsent leaves a harmless gap.
    const queue: Unconfirmed[] = unconfirmed !== null ? [unconfirmed] : []
    unconfirmed = null
    const entries = [...batch]
    for (let i = 0; i < entries.length; i += chunk) queue.push({ seq: ++lastSeq, entries: entries.slice(i, i + chunk) })
    let flushed = 0
    for (let i = 0; i < queue.length; i++) {
      const error = await sendChunk(queue[i]!)
      if (error) {
        // Redis is down or timing out: the rest waits for the next flush instead of failing in turn.
        unconfirmed = queue[i]!
        const rest = queue.slice(i + 1)
        for (const chunk of rest) restore(chunk.entries)
        stats.flushed += flushed
        stats.flushErrors++
        const failed = unconfirmed.entries.length + rest.reduce((n, chunk) => n + chunk.entries.length, 0)
        return { flushed, failed, error }
      }
      for (const [, count] of queue[i]!.entries) flushed += count
    }
    stats.flushed += flushed
    return { flushed, failed: 0 }
  }

  function add (field: string, count: number): void {
    stats.recorded += count
    const current = counts.get(field)
    if (current !== undefined) {
      counts.set(field, current + count)
      return
    }
    if (counts.size >= opts.maxFields) {
      if (inFlight !== null) {
        stats.dropped += count
        return
      }
      flush() // never rejects: failures are counted and the clicks kept
    }
    counts.set(field, count)
  }

  function flush (): Promise<FlushResult> {
    if (inFlight !== null) return inFlight
    if (counts.size === 0 && unconfirmed === null) return Promise.resolve({ flushed: 0, failed: 0 })
    const batch = counts
    counts = new Map()
    inFlight = send(batch).finally(() => { inFlight = null })
    return inFlight
  }

  return {
    stats,

    /** Counts one click; synchronous and O(1), never touches Redis. */
    record (key: string, bot: boolean): void {
      add(clickField(today(), key, bot), 1)
    },

    /** Counts one click of a given day, under its field of the hash (the same bounds as record). */
    recordOn (day: string, key: string, bot: boolean): void {
      add(clickField(day, key, bot), 1)
    },

    /** Counts `count` clicks of a day at once (the analytics' flush tallies them first). */
    addOn (day: string, key: string, bot: boolean, count: number): void {
      add(clickField(day, key, bot), count)
    },

    /** Adds to any field of the hash (the analytics' dimension fields use a buffer of their own). */
    add,

    flush,

    /** The UTC day of now, as record() files a click under. */
    today,

    /** Waits for a flush in flight, then flushes what is left once (for shutdown). */
    async drain (): Promise<FlushResult> {
      if (inFlight !== null) await inFlight
      return flush()
    },

    /** Fields held in memory: counted, or sent without a reply yet. */
    get bufferedFields (): number {
      return counts.size + (unconfirmed?.entries.length ?? 0)
    },

    /**
     * Forgets this buffer's sequence in Redis once nothing of it can arrive any more: after a
     * drain with nothing unconfirmed. False (and the key kept) otherwise.
     */
    async forgetSequence (): Promise<boolean> {
      if (inFlight !== null || unconfirmed !== null || counts.size > 0) return false
      await opts.redis.del(opts.seqKey)
      return true
    }
  }
}
export type ClickBuffer = ReturnType<typeof createClickBuffer>
