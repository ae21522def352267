// Steady traffic through the edge while a fault suite breaks things: lanes creating links with
// unique URLs and lanes following links that were acknowledged (201). Every answer is recorded
// with the phase it started in; a redirect that answers anything but the acknowledged URL is a
// violation of the contract (a lost or corrupted link), kept apart from ordinary failures.
import { sleep } from './processes.ts'

export type Op = 'create' | 'redirect'

export interface Sample {
  phase: string
  op: Op
  /** The HTTP status as text, or 'timeout' / 'error:<code>' when no answer came. */
  outcome: string
  ok: boolean
  /** Epoch ms when the request was sent, and how long the answer took. */
  start: number
  ms: number
  /** A 503 said when to come back. */
  retryAfter?: boolean
}

export interface Ack {
  key: string
  url: string
  phase: string
  at: number
  /** Written through to the Redis cache while Redis was healthy (and not lost since). */
  cached: boolean
}

export interface Violation {
  phase: string
  key: string
  expected: string
  got: string
}

export interface TrafficOptions {
  /** The edge, e.g. http://127.0.0.1:8080. */
  baseUrl: string
  /** Makes every URL unique to this run. */
  runId: string
  createLanes?: number
  redirectLanes?: number
  /** Each lane sends at most one request per interval. */
  createIntervalMs?: number
  redirectIntervalMs?: number
  /** A request still unanswered after this is recorded as 'timeout'. */
  timeoutMs?: number
  /** Hard cap on requests, so a stuck test cannot run forever. */
  maxRequests?: number
  headers?: Record<string, string>
}

export interface Traffic {
  samples: Sample[]
  acks: Ack[]
  violations: Violation[]
  /** The phase new requests are tagged with. */
  phase: string
  /** While false, new acknowledgements are not counted as cached (Redis is in trouble). */
  cacheTrusted: boolean
  /** While true, redirect lanes only follow links known to be cached (Cassandra is in trouble). */
  cachedOnly: boolean
  /** Redis lost everything: no earlier link is cached any more. */
  forgetCache: () => void
  stop: () => Promise<void>
}

function errorCode (error: unknown): string {
  const err = error as { name?: string, cause?: { code?: string, name?: string } }
  if (err.name === 'TimeoutError' || err.cause?.name === 'TimeoutError') return 'timeout'
  return `error:${err.cause?.code ?? err.name ?? 'unknown'}`
}

export function startTraffic (opts: TrafficOptions): Traffic {
  const timeoutMs = opts.timeoutMs ?? 15_000
  const maxRequests = opts.maxRequests ?? 100_000
  let sent = 0
  let seq = 0
  const state = { running: true }

  const traffic: Traffic = {
    samples: [],
    acks: [],
    violations: [],
    phase: 'warm-up',
    cacheTrusted: true,
    cachedOnly: false,
    forgetCache () {
      for (const ack of traffic.acks) ack.cached = false
    },
    async stop () {
      state.running = false
      await Promise.all(lanes)
    }
  }

  function record (op: Op, phase: string, start: number, outcome: string, ok: boolean, retryAfter?: boolean): void {
    traffic.samples.push({ phase, op, outcome, ok, start, ms: Date.now() - start, ...(retryAfter === undefined ? {} : { retryAfter }) })
  }

  async function createOne (): Promise<void> {
    const phase = traffic.phase
    const url = `https://example.com/faults/${opts.runId}/${seq++}?phase=${phase}`
    const cached = traffic.cacheTrusted
    const start = Date.now()
    try {
      const response = await fetch(`${opts.baseUrl}/api/v1/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify({ url }),
        signal: AbortSignal.timeout(timeoutMs)
      })
      const body = await response.json().catch(() => null) as { key?: string, url?: string } | null
      const ok = response.status === 201
      record('create', phase, start, String(response.status), ok, response.status === 503 ? Number(response.headers.get('retry-after')) > 0 : undefined)
      if (ok) {
        if (body?.url !== url || typeof body.key !== 'string') {
          traffic.violations.push({ phase, key: String(body?.key), expected: url, got: `201 with url ${String(body?.url)}` })
          return
        }
        // Cached only if Redis stayed healthy for the whole request.
        traffic.acks.push({ key: body.key, url, phase, at: Date.now(), cached: cached && traffic.cacheTrusted })
      }
    } catch (error) {
      record('create', phase, start, errorCode(error), false)
    }
  }

  function pickAck (): Ack | undefined {
    const pool = traffic.cachedOnly ? traffic.acks.filter((ack) => ack.cached) : traffic.acks
    return pool[Math.floor(Math.random() * pool.length)]
  }

  async function redirectOne (): Promise<void> {
    const ack = pickAck()
    if (ack === undefined) return
    const phase = traffic.phase
    const start = Date.now()
    try {
      const response = await fetch(`${opts.baseUrl}/${ack.key}`, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
      await response.arrayBuffer()
      const location = response.headers.get('location')
      const ok = response.status === 302 && location === ack.url
      record('redirect', phase, start, String(response.status), ok, response.status === 503 ? Number(response.headers.get('retry-after')) > 0 : undefined)
      // A 404 or a wrong Location for an acknowledged link breaks invariant 2, whatever else is down.
      if (response.status === 404 || (response.status === 302 && location !== ack.url)) {
        traffic.violations.push({ phase, key: ack.key, expected: ack.url, got: `${response.status} ${location ?? ''}` })
      }
    } catch (error) {
      record('redirect', phase, start, errorCode(error), false)
    }
  }

  async function lane (task: () => Promise<void>, intervalMs: number, offsetMs: number): Promise<void> {
    await sleep(offsetMs)
    while (state.running && sent < maxRequests) {
      const began = Date.now()
      sent++
      await task()
      await sleep(Math.max(0, intervalMs - (Date.now() - began)))
    }
  }

  const createInterval = opts.createIntervalMs ?? 200
  const redirectInterval = opts.redirectIntervalMs ?? 100
  const lanes = [
    ...Array.from({ length: opts.createLanes ?? 3 }, (_, i) => lane(createOne, createInterval, (i * createInterval) / (opts.createLanes ?? 3))),
    ...Array.from({ length: opts.redirectLanes ?? 4 }, (_, i) => lane(redirectOne, redirectInterval, (i * redirectInterval) / (opts.redirectLanes ?? 4)))
  ]
  return traffic
}

export interface OpFigures {
  sent: number
  byStatus: Record<string, number>
  failed: number
  maxMs: number
  p99Ms: number
}

function percentile (values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** Requests of one op (within a set of samples): how many, answers by status, latency. */
export function figuresOf (samples: Sample[], op: Op): OpFigures {
  const mine = samples.filter((s) => s.op === op)
  const byStatus: Record<string, number> = {}
  for (const s of mine) byStatus[s.outcome] = (byStatus[s.outcome] ?? 0) + 1
  const latencies = mine.map((s) => s.ms)
  return {
    sent: mine.length,
    byStatus,
    failed: mine.filter((s) => !s.ok).length,
    maxMs: latencies.length ? Math.max(...latencies) : 0,
    p99Ms: percentile(latencies, 99)
  }
}

export interface Burst {
  /** Every 201: the key answered and the URL sent. */
  acks: Array<{ key: string, url: string }>
  byStatus: Record<string, number>
  ms: number
}

/** `count` creates through the edge, `concurrency` in flight, each URL unique; every answer counted. */
export async function createBurst (opts: { baseUrl: string, runId: string, label: string, count: number, concurrency?: number, timeoutMs?: number }): Promise<Burst> {
  const burst: Burst = { acks: [], byStatus: {}, ms: 0 }
  const started = Date.now()
  let next = 0
  async function lane (): Promise<void> {
    while (next < opts.count) {
      const url = `https://example.com/burst/${opts.runId}/${opts.label}/${next++}`
      let outcome: string
      try {
        const response = await fetch(`${opts.baseUrl}/api/v1/links`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000)
        })
        const body = await response.json().catch(() => null) as { key?: unknown } | null
        outcome = String(response.status)
        if (response.status === 201 && typeof body?.key === 'string') burst.acks.push({ key: body.key, url })
      } catch (error) {
        outcome = errorCode(error)
      }
      burst.byStatus[outcome] = (burst.byStatus[outcome] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, lane))
  burst.ms = Date.now() - started
  return burst
}
