import { slotOf } from '@shortwave/common/webhook-outbox'
import type { DeliveryAttempt, Webhook } from '@shortwave/common/webhook-store'
import { describe, expect, it } from 'vitest'
import type { Confirmer } from '../src/confirm.ts'
import type { DeliveryResult } from '../src/deliver.ts'
import { createProcessor, type ProcessorSettings } from '../src/processor.ts'
import type { Queue, QueueRow } from '../src/queue.ts'

// The processor's decisions alone, on stand-ins for Cassandra and the network, with a clock the
// test moves: when a delivery is retried, given up, when an endpoint is disabled, what waits.

const HOUR = 3_600_000
const settings: ProcessorSettings = {
  retryForMs: 24 * HOUR,
  backoff: { baseMs: 1000, maxMs: HOUR },
  disableAfterMs: 24 * HOUR,
  concurrency: 64,
  perEndpoint: 2,
  settleMs: 60_000,
  firstLookbackSlots: 2,
  slotsPerPass: 60,
  rowsPerSlot: 1000
}

function hook (id: string, overrides: Partial<Webhook> = {}): Webhook {
  return {
    id,
    creator: 'k1',
    scope: 'k1',
    url: `https://hooks.example.com/${id}`,
    events: ['link.created'],
    enabled: true,
    secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
    createdAt: new Date(0),
    disabledAt: null,
    disabledReason: null,
    failingSince: null,
    ...overrides
  }
}

type Confirmation = Awaited<ReturnType<Confirmer['confirm']>>

function harness (
  webhooks: Webhook[], answer: (url: string) => Promise<DeliveryResult>, confirm: () => Confirmation = () => 'yes'
) {
  let clock = 10 * HOUR
  const rows = new Map<string, QueueRow>()
  const key = (r: QueueRow) => `${r.slot}|${r.dueAt.getTime()}|${r.eventId}|${r.webhookId}`
  const log: Array<DeliveryAttempt & { webhookId: string }> = []
  const hooks = new Map(webhooks.map((w) => [w.id, { ...w }]))
  const queue: Queue = {
    slot: async (_shard, slot) => [...rows.values()].filter((r) => r.slot === slot)
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime()),
    fanOut: async (event, ids) => {
      rows.delete(key(event))
      const made = ids.map((webhookId) => ({ ...event, webhookId }))
      for (const row of made) rows.set(key(row), row)
      return made
    },
    reschedule: async (row, dueAt, attempt, firstAttemptAt) => {
      const next = { ...row, slot: slotOf(dueAt.getTime()), dueAt, attempt, firstAttemptAt }
      rows.set(key(next), next)
      rows.delete(key(row))
    },
    remove: async (row) => { rows.delete(key(row)) },
    cursor: async () => null,
    setCursor: async () => {}
  }
  const confirmer: Confirmer = { confirm: async () => confirm(), ownerOf: async () => 'k1' }
  const processor = createProcessor({
    queue,
    store: {
      find: async (id) => { const w = hooks.get(id); return w ? { ...w } : null },
      subscribers: async () => [...hooks.keys()],
      logAttempt: async (webhookId, attempt) => { log.push({ ...attempt, webhookId }) },
      markFailing: async (id, since) => { hooks.get(id)!.failingSince = since },
      markHealthy: async (id) => { hooks.get(id)!.failingSince = null },
      disable: async (id, at, reason) => {
        Object.assign(hooks.get(id)!, { enabled: false, disabledAt: at, disabledReason: reason })
      }
    },
    confirmer,
    deliver: async (request) => await answer(request.url),
    metrics: { fannedOut: () => {}, dropped: () => {}, attempted: () => {}, disabled: () => {} },
    log: { warn: () => {}, info: () => {} },
    now: () => clock,
    random: () => 0.5
  }, settings)
  let events = 0
  return {
    rows,
    log,
    hooks,
    processor,
    advance: (ms: number) => { clock += ms },
    now: () => clock,
    /** An event of link `link` written now, not fanned out. */
    event (link = 'abc1234'): void {
      const at = new Date(clock)
      const row: QueueRow = {
        shard: 0,
        slot: slotOf(clock),
        dueAt: at,
        eventId: `msg_${++events}`,
        webhookId: '',
        eventType: 'link.created',
        scopedKey: link,
        owner: 'k1',
        occurredAt: at,
        checkVersion: null,
        payload: '{}',
        attempt: 0,
        firstAttemptAt: null
      }
      rows.set(key(row), row)
    },
    /** A pass, then the deliveries it started. */
    async pass (): Promise<void> {
      await processor.pass(0)
      await processor.settle()
    }
  }
}

const answer = (ok: boolean, statusCode: number): Promise<DeliveryResult> => Promise.resolve({
  ok, refused: false, statusCode, error: ok ? null : `the endpoint answered ${statusCode}`, durationMs: 5
})
const failed = (statusCode = 500): Promise<DeliveryResult> => answer(false, statusCode)
const delivered = (): Promise<DeliveryResult> => answer(true, 200)

describe('the queue processor', () => {
  it('retries a failed delivery after the backoff, then gives up once it failed for 24 h', async () => {
    const h = harness([hook('w1')], () => failed())
    h.event()
    await h.pass()
    expect(h.log.map((a) => a.outcome)).toEqual(['failed'])
    const [row] = [...h.rows.values()]
    // The first retry: base 1 s, drawn at half-way between 0.5 s and 1 s.
    expect(row!.dueAt.getTime() - h.now()).toBe(750)
    expect(row!.attempt).toBe(1)

    await h.pass()
    expect(h.log).toHaveLength(1) // not due yet
    for (let i = 0; i < 60 && h.rows.size > 0; i++) {
      h.advance(HOUR)
      await h.pass()
    }
    expect(h.log.at(-1)!.outcome).toBe('gave_up')
    expect(h.log.at(-1)!.attempt).toBeGreaterThan(10)
    expect(new Set(h.log.map((a) => a.eventId)).size).toBe(1)
    expect(h.rows.size).toBe(0)
  })

  it('disables an endpoint whose deliveries all failed for 24 h, and skips it from then on', async () => {
    const h = harness([hook('w1')], () => failed(503))
    h.event()
    await h.pass()
    expect(h.hooks.get('w1')!.failingSince).not.toBeNull()
    for (let i = 0; i < 30 && h.hooks.get('w1')!.enabled; i++) {
      h.advance(HOUR)
      await h.pass()
    }
    expect(h.hooks.get('w1')).toMatchObject({ enabled: false })
    expect(h.hooks.get('w1')!.disabledReason).toMatch(/every delivery failed for 24 h/)
    h.advance(5000)
    h.event()
    // Passes until the cursor caught up with the hours the test skipped (60 minutes a pass).
    for (let i = 0; i < 40 && h.rows.size > 0; i++) await h.pass()
    // The first event failed its 24 h too (the same span at the defaults); the next one is not sent.
    expect(h.log.slice(-2).map((a) => `${a.eventId} ${a.outcome}`)).toEqual(['msg_1 gave_up', 'msg_2 endpoint_disabled'])
    expect(h.rows.size).toBe(0)
  })

  it('forgets the failures of an endpoint once a delivery goes through', async () => {
    let answer = failed
    const h = harness([hook('w1')], () => answer())
    h.event()
    await h.pass()
    expect(h.hooks.get('w1')!.failingSince).not.toBeNull()
    answer = delivered
    h.advance(HOUR)
    await h.pass()
    expect(h.log.map((a) => a.outcome)).toEqual(['failed', 'delivered'])
    expect(h.hooks.get('w1')!.failingSince).toBeNull()
  })

  it('holds at most perEndpoint attempts to a slow endpoint, and the others\' go ahead', async () => {
    const waiting: Array<() => void> = []
    const h = harness([hook('slow'), hook('fast')], (url) => url.endsWith('/slow')
      ? new Promise((resolve) => waiting.push(() => { resolve(delivered()) }))
      : delivered())
    for (let i = 0; i < 5; i++) h.event(`link${i}xx`)
    for (let pass = 0; pass < 4; pass++) {
      await h.processor.pass(0)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(waiting).toHaveLength(2)
    expect(h.log.filter((a) => a.webhookId === 'fast').map((a) => a.outcome)).toEqual(Array(5).fill('delivered'))
    expect(h.processor.inFlight()).toBe(2)
    for (const release of waiting.splice(0)) release()
    await h.processor.settle()
  })

  it('moves a busy endpoint\'s backlog on with the clock, so the cursor is not held in the past', async () => {
    const waiting: Array<() => void> = []
    const h = harness([hook('slow')], () => new Promise((resolve) => waiting.push(() => { resolve(delivered()) })))
    for (let i = 0; i < 3; i++) h.event(`link${i}xx`)
    await h.processor.pass(0)
    expect(waiting).toHaveLength(2)
    h.advance(180_000)
    await h.processor.pass(0)
    const queued = [...h.rows.values()]
    const late = queued.filter((row) => row.dueAt.getTime() > h.now())
    expect(late.map((row) => [row.eventId, row.dueAt.getTime() - h.now(), row.attempt])).toEqual([['msg_3', 60_000, 0]])
    for (const release of waiting.splice(0)) release()
    await h.processor.settle()
  })

  it('sends a link\'s next event to a webhook only once the earlier one is answered', async () => {
    const order: string[] = []
    let release: (() => void) | undefined
    const h = harness([hook('w1')], () => new Promise((resolve) => {
      order.push('sent')
      release = () => { resolve({ ok: true, refused: false, statusCode: 200, error: null, durationMs: 1 }) }
    }))
    h.event('same123')
    h.event('same123')
    await h.processor.pass(0)
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['sent'])
    await h.processor.pass(0)
    expect(order).toEqual(['sent'])
    release!()
    await h.processor.settle()
    await h.processor.pass(0)
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['sent', 'sent'])
    release!()
    await h.processor.settle()
    expect(h.log.map((a) => a.eventId)).toEqual(['msg_1', 'msg_2'])
  })

  it('waits for an event whose change has not shown yet, and drops it once the settle time passed', async () => {
    const h = harness([hook('w1')], () => delivered(), () => 'pending')
    h.event()
    await h.pass()
    expect([h.rows.size, h.log.length]).toEqual([1, 0])
    h.advance(settings.settleMs)
    await h.pass()
    expect([h.rows.size, h.log.length]).toEqual([0, 0])
  })

  it('holds a link\'s later events, in later minutes too, while an earlier one waits for its change', async () => {
    let confirmation: Confirmation = 'pending'
    const h = harness([hook('w1')], () => delivered(), () => confirmation)
    h.advance(40_000)
    h.event('same123')
    // The next minute, still within the settle time of the first.
    h.advance(30_000)
    h.event('same123')
    await h.pass()
    expect(h.log).toEqual([])
    confirmation = 'yes'
    await h.pass()
    await h.pass()
    expect(h.log.map((a) => a.eventId)).toEqual(['msg_1', 'msg_2'])
  })

  it('drops an event the links row contradicts (a lost alias race, a lost edit race)', async () => {
    const h = harness([hook('w1')], () => delivered(), () => 'no')
    h.event()
    await h.pass()
    expect([h.rows.size, h.log.length]).toEqual([0, 0])
  })
})
