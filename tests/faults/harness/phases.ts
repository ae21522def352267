// One fault at a time under steady traffic: a steady stretch, the fault, its hold, the heal, and
// then traffic until it has been clean for a while. The figures of each phase come from the
// samples tagged with its name.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, sleep } from './processes.ts'
import { figuresOf, type Op, type OpFigures, type Traffic } from './traffic.ts'

export interface FaultPhase {
  name: string
  /** What is done, in words (the report's "fault" column). */
  fault: string
  /** Failures the contract allows during this fault, by op (e.g. create: ['503']). Nothing else may fail. */
  allowed?: Partial<Record<Op, string[]>>
  /** The longest any answer may take during this phase (the timeouts in front of a slow dependency). */
  latencyBoundMs?: number
  inject: () => Promise<void>
  holdMs: number
  /** Undoes the fault; resolves once the broken part is back and ready. */
  heal: () => Promise<void>
  /** Runs once healed, alongside the wait for clean traffic; its figures join the phase's. */
  afterHeal?: () => Promise<Record<string, number | string>>
}

export interface PhaseRecord {
  name: string
  fault: string
  create: OpFigures
  redirect: OpFigures
  /** Links acknowledged (201) during the phase. */
  acknowledged: number
  /** Fault injected → broken part back and ready (for a restart, includes its start-up). */
  outageMs: number
  /** First failed answer → end of the last failed answer; 0 when nothing failed. */
  errorWindowMs: number
  /** Broken part ready → end of the last failed answer: how long users still saw errors. */
  recoveryMs: number
  recovered: boolean
  /** Failures the contract does not allow here, as "op outcome" → count. */
  unexpected: Record<string, number>
  /** 503 answers without a Retry-After. */
  missingRetryAfter: number
  latencyBoundMs: number | null
  extra: Record<string, number | string>
}

export interface PhaseTiming {
  /** Clean traffic before the fault. */
  steadyMs: number
  /** How long traffic must stay clean after the heal for the phase to end. */
  cleanMs: number
  /** Give up waiting for clean traffic after this (the phase then fails: not recovered). */
  recoveryTimeoutMs: number
}

const DEFAULT_TIMING: PhaseTiming = { steadyMs: 1500, cleanMs: 2000, recoveryTimeoutMs: 60_000 }

export async function runPhase (traffic: Traffic, phase: FaultPhase, timing: PhaseTiming = DEFAULT_TIMING): Promise<PhaseRecord> {
  traffic.phase = phase.name
  const mine = () => traffic.samples.filter((s) => s.phase === phase.name)
  await sleep(timing.steadyMs)

  const injectedAt = Date.now()
  await phase.inject()
  await sleep(phase.holdMs)
  await phase.heal()
  const readyAt = Date.now()

  const extraPromise = phase.afterHeal?.() ?? Promise.resolve({})
  let recovered = false
  while (Date.now() - readyAt < timing.recoveryTimeoutMs) {
    await sleep(250)
    const samples = mine()
    const lastFailureEnd = Math.max(readyAt, ...samples.filter((s) => !s.ok).map((s) => s.start + s.ms))
    const cleanAfter = samples.filter((s) => s.ok && s.start > lastFailureEnd)
    if (Date.now() - lastFailureEnd >= timing.cleanMs &&
      cleanAfter.some((s) => s.op === 'create') && cleanAfter.some((s) => s.op === 'redirect')) {
      recovered = true
      break
    }
  }
  const extra = await extraPromise

  const samples = mine()
  const failures = samples.filter((s) => !s.ok)
  const unexpected: Record<string, number> = {}
  for (const s of failures) {
    if (phase.allowed?.[s.op]?.includes(s.outcome)) continue
    const id = `${s.op} ${s.outcome}`
    unexpected[id] = (unexpected[id] ?? 0) + 1
  }
  const firstFailure = Math.min(...failures.map((s) => s.start))
  const lastFailureEnd = Math.max(...failures.map((s) => s.start + s.ms))
  return {
    name: phase.name,
    fault: phase.fault,
    create: figuresOf(samples, 'create'),
    redirect: figuresOf(samples, 'redirect'),
    acknowledged: traffic.acks.filter((a) => a.phase === phase.name).length,
    outageMs: readyAt - injectedAt,
    errorWindowMs: failures.length ? lastFailureEnd - firstFailure : 0,
    recoveryMs: failures.length ? Math.max(0, lastFailureEnd - readyAt) : 0,
    recovered,
    unexpected,
    missingRetryAfter: samples.filter((s) => s.outcome === '503' && s.retryAfter === false).length,
    latencyBoundMs: phase.latencyBoundMs ?? null,
    extra
  }
}

function statuses (figures: OpFigures): string {
  return Object.entries(figures.byStatus).sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${status}:${n}`).join(' ')
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1)

/** The figures as a fixed-width table (what the suites print). */
export function formatTable (records: PhaseRecord[]): string {
  const header = ['phase', 'creates', 'by status', 'redirects', 'by status', 'acked', 'max ms', 'outage s', 'recovery s', 'notes']
  const rows = records.map((r) => [
    r.name,
    String(r.create.sent), statuses(r.create),
    String(r.redirect.sent), statuses(r.redirect),
    String(r.acknowledged),
    String(Math.max(r.create.maxMs, r.redirect.maxMs)),
    seconds(r.outageMs),
    r.recovered ? seconds(r.recoveryMs) : 'NOT RECOVERED',
    Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(' ')
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** Writes reports/<name>.json (git-ignored) and returns its path. */
export function writeReport (name: string, report: unknown): string {
  const dir = join(ROOT, 'reports')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
