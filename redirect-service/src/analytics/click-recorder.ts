import { hash } from 'node:crypto'
import { linkScope } from '@shortwave/common/click-rollups'
import { dimensionField } from '@shortwave/common/redis-keys'
import { AUDIENCE, UNKNOWN } from '@shortwave/common/stats-dimensions'
import { isBot } from '../bot-detector.ts'
import type { ClickBuffer, FlushResult } from '../click-buffer.ts'
import { DIMENSIONS, type ClickDimensionsOf, type SeenClick } from './click-dimensions.ts'
import type { DailySalt } from './daily-salt.ts'
import type { VisitorBuffer } from './visitor-buffer.ts'

// What a GET tells about where a click came from is worked out after the answer has gone: the
// request only appends what it saw to an array (no parsing, no hashing, no regex), and the flush,
// once per interval, derives each click's dimensions (user agents parsed once per distinct agent),
// decides bot or person, hashes the visitor, and hands counts to the buffers. The array is then
// dropped: an address or a full user agent lives in memory for one interval, and nowhere else.

interface Pending extends SeenClick {
  day: string
  key: string
}

/** One flush's clicks of a link on a day, tallied per dimension (in DIMENSIONS' order). */
interface LinkDay {
  day: string
  key: string
  people: number
  bots: number
  values: Array<Map<string, number>>
  visitors: Set<string>
}

export interface ClickRecorderDeps {
  clicks: Pick<ClickBuffer, 'recordOn' | 'addOn' | 'today' | 'flush' | 'drain'>
  dimensions: Pick<ClickBuffer, 'add' | 'flush' | 'drain'>
  visitors: Pick<VisitorBuffer, 'add' | 'flush'>
  derive: ClickDimensionsOf
  salt: Pick<DailySalt, 'saltFor'>
  /** Clicks held for derivation; past it a click is counted with every dimension `unknown`. */
  maxPending: number
}

// Clicks derived between two yields to the event loop: a millisecond or two of work, so the
// redirects served meanwhile do not wait behind a whole interval's derivation (2,000 at a time set
// a replica's p99 at 13 ms under 30,000 redirects/s; docs/benchmarks.md).
const SLICE = 250

export interface RecorderFlush {
  clicks: FlushResult
  dimensions: FlushResult
  visitorsError: unknown
}

export function createClickRecorder (deps: ClickRecorderDeps) {
  const { clicks, dimensions, visitors } = deps
  let pending: Pending[] = []
  const stats = { derived: 0, overflow: 0 }
  let deriving: Promise<void> | null = null

  /** Tallies one click into its link-day's group: a Map step per dimension, no field built yet. */
  function derive (click: Pending, groups: Map<string, LinkDay>): void {
    const id = `${click.day}|${click.key}`
    let group = groups.get(id)
    if (group === undefined) {
      group = {
        day: click.day, key: click.key, people: 0, bots: 0, values: DIMENSIONS.map(() => new Map()), visitors: new Set()
      }
      groups.set(id, group)
    }
    const seen = deps.derive(click)
    stats.derived++
    if (seen.device === 'bot') {
      group.bots++
      return
    }
    group.people++
    for (let i = 0; i < DIMENSIONS.length; i++) {
      const values = group.values[i]!
      const value = seen[DIMENSIONS[i]!]
      values.set(value, (values.get(value) ?? 0) + 1)
    }
    if (click.address !== undefined) {
      group.visitors.add(hash('sha256', `${deps.salt.saltFor(click.day)}\n${click.address}\n${click.userAgent ?? ''}`).slice(0, 16))
    }
  }

  /** Hands a flush's groups to the buffers: one field per link-day and value, built once. */
  function emit (groups: Map<string, LinkDay>): void {
    for (const { day, key, people, bots, values, visitors: hashes } of groups.values()) {
      if (people > 0) {
        clicks.addOn(day, key, false, people)
        dimensions.add(dimensionField(day, key, AUDIENCE, 'people'), people)
      }
      if (bots > 0) {
        clicks.addOn(day, key, true, bots)
        dimensions.add(dimensionField(day, key, AUDIENCE, 'bot'), bots)
      }
      for (let i = 0; i < DIMENSIONS.length; i++) {
        for (const [value, count] of values[i]!) dimensions.add(dimensionField(day, key, DIMENSIONS[i]!, value), count)
      }
      const scope = linkScope(key)
      for (const visitor of hashes) visitors.add(day, scope, visitor)
    }
  }

  async function deriveAll (): Promise<void> {
    while (pending.length > 0) {
      const batch = pending
      pending = []
      const groups = new Map<string, LinkDay>()
      for (let i = 0; i < batch.length; i++) {
        if (i > 0 && i % SLICE === 0) await new Promise((resolve) => setImmediate(resolve))
        derive(batch[i]!, groups)
      }
      emit(groups)
    }
  }

  function derivePending (): Promise<void> {
    deriving ??= deriveAll().finally(() => { deriving = null })
    return deriving
  }

  async function send (drain: boolean): Promise<RecorderFlush> {
    await derivePending()
    // The visitors first: when the fold reads a link-day's HyperLogLog, it holds the visitors of the clicks it folds.
    const visitorsError = await visitors.flush()
    const [clickResult, dimensionResult] = await Promise.all(drain
      ? [clicks.drain(), dimensions.drain()]
      : [clicks.flush(), dimensions.flush()])
    return { clicks: clickResult, dimensions: dimensionResult, visitorsError }
  }

  return {
    stats,

    /** Keeps what a GET saw until the next flush: synchronous, O(1), nothing parsed. */
    record (key: string, seen: SeenClick): void {
      const day = clicks.today()
      if (pending.length < deps.maxPending) {
        pending.push({
          day, key, referer: seen.referer, userAgent: seen.userAgent, address: seen.address, query: seen.query
        })
        return
      }
      stats.overflow++
      const bot = isBot(seen.userAgent)
      clicks.recordOn(day, key, bot)
      dimensions.add(dimensionField(day, key, AUDIENCE, bot ? 'bot' : 'people'), 1)
      if (!bot) for (const dimension of DIMENSIONS) dimensions.add(dimensionField(day, key, dimension, UNKNOWN), 1)
    },

    flush: () => send(false),
    drain: () => send(true),

    get pending (): number {
      return pending.length
    }
  }
}
export type ClickRecorder = ReturnType<typeof createClickRecorder>
