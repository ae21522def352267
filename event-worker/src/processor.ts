import { SpanStatusCode, type Span } from '@opentelemetry/api'
import { inOwnTrace } from '@shortwave/common/tracing'
import { slotOf } from '@shortwave/common/webhook-outbox'
import type { Webhook, WebhookStore } from '@shortwave/common/webhook-store'
import { Webhook as Signer } from 'standardwebhooks'
import { retryDelayMs, type BackoffSettings } from './backoff.ts'
import type { Confirmer } from './confirm.ts'
import type { Deliver } from './deliver.ts'
import type { Queue, QueueRow } from './queue.ts'

// One pass over a shard the worker holds: from its cursor to the current minute, events are fanned
// out (in order, after their change is confirmed) and due deliveries are started. Deliveries run
// on their own, not awaited by the pass: a receiver that never answers holds at most
// perEndpoint of the worker's slots until its timeout, and the next passes go on with the others.
//
// Order: a shard is worked by one worker, in due order, and every event of a link is in one shard.
// Events of a link are fanned out in order (a later one waits while an earlier one is pending), and
// a delivery waits while an earlier delivery of the same link to the same webhook is in flight. A
// failed delivery does NOT hold back the link's later events while it waits for its retry: a
// receiver gets them first, and the retried one later (payloads carry `version` and `timestamp`).

export interface ProcessorSettings {
  /** Retried for this long after the first attempt; then given up. */
  retryForMs: number
  backoff: BackoffSettings
  /** An endpoint failing every attempt for this long is disabled. */
  disableAfterMs: number
  concurrency: number
  perEndpoint: number
  /** An event whose change has not shown after this long is dropped (it never happened). */
  settleMs: number
  /** How far back a shard without a cursor starts. */
  firstLookbackSlots: number
  /** Minutes read per pass at most, so a long-idle shard catches up over several passes. */
  slotsPerPass: number
  rowsPerSlot: number
}

export interface ProcessorMetrics {
  fannedOut: (deliveries: number) => void
  dropped: (reason: 'never_applied' | 'no_subscriber') => void
  attempted: (outcome: string, seconds: number) => void
  disabled: () => void
}

export interface ProcessorDeps {
  queue: Queue
  store: Pick<WebhookStore, 'find' | 'subscribers' | 'logAttempt' | 'markFailing' | 'markHealthy' | 'disable'>
  confirmer: Confirmer
  deliver: Deliver
  metrics: ProcessorMetrics
  log: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
  now?: () => number
  random?: () => number
}

// A webhook's row is read once per this long, not once per delivery.
const WEBHOOK_CACHE_MS = 2000
// Deliveries that ended recently: a pass that read the row before it was removed does not start it again.
const DONE_MEMORY_MS = 120_000

// The cursor stays this many minutes behind the clock: a writer whose clock runs behind ours
// (up to two minutes) still writes into a minute that is read.
const SKEW_SLOTS = 2
// A due delivery that could not start for this long (its endpoint busy) is moved DEFER_BY_MS on.
const DEFER_AFTER_MS = 120_000
const DEFER_BY_MS = 60_000

const idOf = (row: QueueRow): string => `${row.shard}|${row.dueAt.getTime()}|${row.eventId}|${row.webhookId}`

export function createProcessor (deps: ProcessorDeps, settings: ProcessorSettings) {
  const { queue, store, metrics } = deps
  const now = deps.now ?? Date.now
  const cursors = new Map<number, number>()
  const inFlight = new Map<string, Promise<void>>()
  const perEndpoint = new Map<string, number>()
  const busyLinks = new Set<string>()
  const done = new Map<string, number>()
  const webhooks = new Map<string, { until: number, webhook: Promise<Webhook | null> }>()

  function webhook (id: string): Promise<Webhook | null> {
    const cached = webhooks.get(id)
    if (cached !== undefined && cached.until > now()) return cached.webhook
    const found = store.find(id)
    webhooks.set(id, { until: now() + WEBHOOK_CACHE_MS, webhook: found })
    found.catch(() => webhooks.delete(id))
    return found
  }

  function forget (id: string): void {
    webhooks.delete(id)
  }

  async function attempt (row: QueueRow, span: Span): Promise<void> {
    const hook = await webhook(row.webhookId)
    // Deleted: nothing more goes to it.
    if (hook === null) return await queue.remove(row)
    const at = now()
    const number = row.attempt + 1
    const entry = { eventId: row.eventId, eventType: row.eventType, attempt: number }
    if (!hook.enabled) {
      await store.logAttempt(hook.id, { ...entry, at: new Date(at), outcome: 'endpoint_disabled', statusCode: null, error: 'the endpoint is disabled', durationMs: 0 })
      metrics.attempted('endpoint_disabled', 0)
      return await queue.remove(row)
    }
    const timestamp = new Date(at)
    const headers = {
      'webhook-id': row.eventId,
      'webhook-timestamp': String(Math.floor(at / 1000)),
      'webhook-signature': new Signer(hook.secret).sign(row.eventId, timestamp, row.payload),
      'user-agent': 'Shortwave-Webhooks/1'
    }
    const result = await deps.deliver({ url: hook.url, headers, body: row.payload })
    span.setAttributes({ 'webhook.ok': result.ok, ...(result.statusCode === null ? {} : { 'http.response.status_code': result.statusCode }) })
    if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error ?? `status ${result.statusCode}` })
    const ended = now()
    const first = row.firstAttemptAt ?? new Date(at)
    const { statusCode, error, durationMs } = result
    const log = { ...entry, at: new Date(ended), statusCode, error, durationMs }
    if (result.ok || result.refused) {
      const outcome = result.ok ? 'delivered' : 'refused'
      await store.logAttempt(hook.id, { ...log, outcome })
      metrics.attempted(outcome, result.durationMs / 1000)
      if (result.ok && hook.failingSince !== null) {
        await store.markHealthy(hook.id)
        forget(hook.id)
      }
      return await queue.remove(row)
    }
    await noteFailure(hook, ended)
    if (ended - first.getTime() >= settings.retryForMs) {
      await store.logAttempt(hook.id, { ...log, outcome: 'gave_up' })
      metrics.attempted('gave_up', result.durationMs / 1000)
      return await queue.remove(row)
    }
    await store.logAttempt(hook.id, { ...log, outcome: 'failed' })
    metrics.attempted('failed', result.durationMs / 1000)
    const due = new Date(ended + retryDelayMs(number, settings.backoff, deps.random))
    await queue.reschedule(row, due, number, first)
  }

  /** Starts the endpoint's failing time, or disables it once that is long enough ago. */
  async function noteFailure (hook: Webhook, at: number): Promise<void> {
    if (hook.failingSince === null) {
      await store.markFailing(hook.id, new Date(at))
      forget(hook.id)
    } else if (at - hook.failingSince.getTime() >= settings.disableAfterMs) {
      const hours = Math.round(settings.disableAfterMs / 360_000) / 10
      await store.disable(hook.id, new Date(at), `every delivery failed for ${hours} h (since ${hook.failingSince.toISOString()})`)
      forget(hook.id)
      metrics.disabled()
      deps.log.warn({ webhook: hook.id }, 'webhook endpoint disabled after failing for too long')
    }
  }

  /**
   * Starts the deliveries that are due, in order, within the limits; the rest wait for a later
   * pass. Returns those that have waited so long (a slow endpoint's backlog) that they would hold
   * the shard's cursor back: the caller moves them on.
   */
  function start (rows: QueueRow[], at: number, held: Set<string>): QueueRow[] {
    const overdue: QueueRow[] = []
    const wait = (row: QueueRow, link: string): void => {
      held.add(link)
      if (at - row.dueAt.getTime() > DEFER_AFTER_MS) overdue.push(row)
    }
    for (const row of rows) {
      const link = `${row.webhookId}|${row.scopedKey}`
      const id = idOf(row)
      if (row.dueAt.getTime() > at || inFlight.has(id) || done.has(id)) continue
      // An earlier delivery of the link to this webhook is in flight or waiting: this one waits too.
      if (busyLinks.has(link) || held.has(link)) {
        wait(row, link)
        continue
      }
      const endpoint = perEndpoint.get(row.webhookId) ?? 0
      if (inFlight.size >= settings.concurrency || endpoint >= settings.perEndpoint) {
        wait(row, link)
        continue
      }
      perEndpoint.set(row.webhookId, endpoint + 1)
      busyLinks.add(link)
      const attributes = { 'webhook.id': row.webhookId, 'webhook.event_type': row.eventType, 'webhook.attempt': row.attempt + 1 }
      // Each attempt a trace of its own, with its reads, its POST and its bookkeeping.
      const running = inOwnTrace('webhook delivery', attributes, (span) => attempt(row, span)).catch((err: unknown) => {
        // Cassandra failed around the attempt: the row is still queued and is tried again.
        deps.log.warn({ err: (err as Error).message, webhook: row.webhookId, event: row.eventId }, 'delivery bookkeeping failed; it will be retried')
      }).finally(() => {
        inFlight.delete(id)
        busyLinks.delete(link)
        const left = (perEndpoint.get(row.webhookId) ?? 1) - 1
        if (left === 0) perEndpoint.delete(row.webhookId)
        else perEndpoint.set(row.webhookId, left)
        done.set(id, now() + DONE_MEMORY_MS)
      })
      inFlight.set(id, running)
    }
    return overdue
  }

  /**
   * Moves deliveries that waited too long to the minute after next, in their order, attempts
   * unchanged: a slow endpoint's backlog travels with the clock instead of holding the cursor in
   * the past, where the passes (slotsPerPass minutes each) would stop reaching the new events.
   */
  async function defer (rows: QueueRow[], at: number): Promise<void> {
    for (const [i, row] of rows.entries()) {
      await queue.reschedule(row, new Date(at + DEFER_BY_MS + i), row.attempt, row.firstAttemptAt)
    }
  }

  /** Fans out the events of one minute in order; returns the deliveries to start. */
  async function fanOut (events: QueueRow[], at: number, waiting: Set<string>): Promise<QueueRow[]> {
    const deliveries: QueueRow[] = []
    for (const event of events) {
      if (waiting.has(event.scopedKey)) continue
      const confirmed = await deps.confirmer.confirm(event)
      if (confirmed === 'pending' && at - event.occurredAt.getTime() < settings.settleMs) {
        waiting.add(event.scopedKey)
        continue
      }
      if (confirmed !== 'yes') {
        metrics.dropped('never_applied')
        await queue.remove(event)
        continue
      }
      const owner = event.owner ?? (event.eventType === 'link.clicked' ? await deps.confirmer.ownerOf(event.scopedKey) : null)
      const ids = await store.subscribers(event.eventType, owner)
      if (ids.length === 0) metrics.dropped('no_subscriber')
      const rows = await queue.fanOut(event, ids)
      metrics.fannedOut(rows.length)
      deliveries.push(...rows)
    }
    return deliveries
  }

  return {
    /** One pass over the shard. */
    async pass (shard: number): Promise<void> {
      const at = now()
      for (const [id, until] of done) if (until <= at) done.delete(id)
      const current = slotOf(at)
      let cursor = cursors.get(shard) ?? await queue.cursor(shard) ?? current - settings.firstLookbackSlots
      const startCursor = cursor
      let advancing = true
      // Across the minutes of the pass: a link whose earlier event waits for its change, and a
      // link-and-webhook whose earlier delivery waits, hold their later ones in later minutes too.
      const waiting = new Set<string>()
      const held = new Set<string>()
      const last = Math.min(current, cursor + settings.slotsPerPass)
      for (let slot = cursor; slot <= last; slot++) {
        const rows = await queue.slot(shard, slot, settings.rowsPerSlot)
        if (rows.length === 0) {
          if (advancing && slot < current - SKEW_SLOTS) cursor = slot + 1
          continue
        }
        advancing = false
        const events = rows.filter((row) => row.webhookId === '' && row.dueAt.getTime() <= at)
        const deliveries = rows.filter((row) => row.webhookId !== '')
        const fanned = await fanOut(events, at, waiting)
        await defer(start([...deliveries, ...fanned].sort(byDue), at, held), at)
      }
      cursors.set(shard, cursor)
      if (cursor !== startCursor) await queue.setCursor(shard, cursor)
    },

    /** Forgets a shard's cursor (another worker may move it meanwhile). */
    dropShard (shard: number): void {
      cursors.delete(shard)
    },

    inFlight: (): number => inFlight.size,

    /** Waits for the deliveries in flight (a clean stop). */
    async settle (): Promise<void> {
      await Promise.all(inFlight.values())
    }
  }
}

function byDue (a: QueueRow, b: QueueRow): number {
  return a.dueAt.getTime() - b.dueAt.getTime() || a.eventId.localeCompare(b.eventId)
}
export type Processor = ReturnType<typeof createProcessor>
