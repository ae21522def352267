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

export interface ClickRecorderDeps {
  clicks: Pick<ClickBuffer, 'recordOn' | 'today' | 'flush' | 'drain'>
  dimensions: Pick<ClickBuffer, 'add' | 'flush' | 'drain'>
  visitors: Pick<VisitorBuffer, 'add' | 'flush'>
  derive: ClickDimensionsOf
  salt: Pick<DailySalt, 'saltFor'>
  /** Clicks held for derivation; past it a click is counted with every dimension `unknown`. */
  maxPending: number
}

// Clicks derived between two yields to the event loop: a few milliseconds of work at most, so
// the redirects served meanwhile do not wait behind a whole interval's derivation.
const SLICE = 2000

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

  function derive (click: Pending): void {
    const seen = deps.derive(click)
    const bot = seen.device === 'bot'
    clicks.recordOn(click.day, click.key, bot)
    dimensions.add(dimensionField(click.day, click.key, AUDIENCE, bot ? 'bot' : 'people'), 1)
    stats.derived++
    if (bot) return
    for (const dimension of DIMENSIONS) {
      dimensions.add(dimensionField(click.day, click.key, dimension, seen[dimension]), 1)
    }
    if (click.address !== undefined) {
      const visitor = hash('sha256', `${deps.salt.saltFor(click.day)}\n${click.address}\n${click.userAgent ?? ''}`).slice(0, 16)
      visitors.add(click.day, linkScope(click.key), visitor)
    }
  }

  async function deriveAll (): Promise<void> {
    while (pending.length > 0) {
      const batch = pending
      pending = []
      for (let i = 0; i < batch.length; i++) {
        if (i > 0 && i % SLICE === 0) await new Promise((resolve) => setImmediate(resolve))
        derive(batch[i]!)
      }
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
