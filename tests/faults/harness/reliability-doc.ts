// docs/reliability.md shows the figures of the last run of each reliability suite: scripts/faults.ts
// renders them from reports/<suite>.json into the page, between that suite's markers, and leaves
// the prose around them alone (as the bench does with docs/benchmarks.md). Pure functions here;
// tests/faults/write-reliability-doc.ts reads the reports and writes the page.
import type { PhaseRecord } from './phases.ts'
import type { Exit } from './processes.ts'
import type { OpFigures, Violation } from './traffic.ts'
import type { HttpVerification, Verification } from './verify.ts'

export type Section = 'faults' | 'fuzz' | 'cluster'

/** A burst of creates: answers by status and the links acknowledged. */
export interface BurstFigures {
  byStatus: Record<string, number>
  acknowledged: number
  ms: number
}

/** What the black-box checks after a Redis rollback or failover found (verifyOverHttp, trimmed). */
export interface HttpCheckFigures extends Omit<HttpVerification, 'duplicateKeys'> {
  duplicateKeys: number
  duplicateExamples: string[]
}

export interface RollbackFigures {
  /** Keys of the stack's Redis state (all but the link cache) in the snapshot. */
  snapshotKeys: number
  /** Deleted (state written since) and restored by the rollback, and how long it took. */
  restore: { deleted: number, restored: number, ms: number }
  before: BurstFigures
  after: BurstFigures
  /** Links the steady traffic created meanwhile (they are checked too). */
  steadyAcknowledged: number
  /** Links acknowledged before the rollback, and how many of them still redirect to and read back their URL. */
  earlier: { links: number, intact: number }
  check: HttpCheckFigures
}

export interface FailoverFigures {
  /** Replication offset the promoted replica had not yet applied when the primary died. */
  lagBytes: number
  /** Primary killed → replica promoted (the services' endpoint is pointed at it right after). */
  promoteMs: number
  before: BurstFigures
  after: BurstFigures
  steadyAcknowledged: number
  earlier: { links: number, intact: number }
  check: HttpCheckFigures
}

export interface FaultsReport {
  suite: 'faults'
  finishedAt: string
  settings: Record<string, number>
  totals: { requests: number, status500: number, violations: number }
  phases: PhaseRecord[]
  gracefulExits: Record<string, Exit & { ms: number }>
  verification: Verification
  violations: Violation[]
  redisRollback?: RollbackFigures
}

export interface FuzzReport {
  suite: 'schemathesis'
  finishedAt: string
  exitCode: number | null
  maxExamples: number
  summary: string[]
  reportDir: string
}

export interface ClusterReport {
  suite: 'cluster'
  finishedAt: string
  settings: Record<string, number | string>
  phases: PhaseRecord[]
  verification: Verification
  catchUp: Record<string, unknown>
  violations: Violation[]
  redisFailover?: FailoverFigures
}

const when = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`
const seconds = (ms: number): string => (ms / 1000).toFixed(1)
const count = (n: number): string => n.toLocaleString('en-US')

function byStatus (statuses: Record<string, number>): string {
  const parts = Object.entries(statuses).sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${status}: ${count(n)}`)
  return parts.length ? parts.join(', ') : 'none'
}

const total = (burst: BurstFigures): number => Object.values(burst.byStatus).reduce((a, n) => a + n, 0)
const ops = (figures: OpFigures): string => `${count(figures.sent)} (${byStatus(figures.byStatus)})`
const slowest = (r: PhaseRecord): number => Math.max(r.create.maxMs, r.redirect.maxMs)

/** A stretch of plain traffic (baseline, after): no outage or recovery to speak of. */
const noFault = (r: PhaseRecord): boolean => r.fault.startsWith('none')

function phaseTable (records: PhaseRecord[]): string[] {
  return [
    '| phase | fault | creates (by status) | redirects (by status) | acked | slowest ms (bound) | outage s | recovery s | notes |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...records.map((r) => `| ${r.name} | ${r.fault} | ${ops(r.create)} | ${ops(r.redirect)} | ${count(r.acknowledged)} | ` +
      `${slowest(r)}${r.latencyBoundMs === null ? '' : ` (${r.latencyBoundMs})`} | ${noFault(r) ? '–' : seconds(r.outageMs)} | ` +
      `${!r.recovered ? 'NOT RECOVERED' : noFault(r) ? '–' : seconds(r.recoveryMs)} | ${Object.entries(r.extra).map(([k, v]) => `${k} ${v}`).join(', ')} |`)
  ]
}

/** What a phase did that the contract does not allow, in words (empty: nothing). */
function phaseProblems (r: PhaseRecord, failuresAllowed: boolean): string[] {
  const problems: string[] = []
  const unexpected = Object.entries(r.unexpected)
  if (unexpected.length) problems.push(`${r.name}: ${unexpected.map(([what, n]) => `${n} × ${what}`).join(', ')}`)
  if (!failuresAllowed && r.create.failed + r.redirect.failed > 0) problems.push(`${r.name}: ${r.create.failed + r.redirect.failed} failed requests`)
  if (!r.recovered) problems.push(`${r.name}: not recovered`)
  if (r.missingRetryAfter) problems.push(`${r.name}: ${r.missingRetryAfter} × 503 without Retry-After`)
  if (r.latencyBoundMs !== null && slowest(r) > r.latencyBoundMs) problems.push(`${r.name}: slowest answer ${slowest(r)} ms over its ${r.latencyBoundMs} ms bound`)
  return problems
}

function verificationProblems (v: Verification): string[] {
  const problems: string[] = []
  if (v.duplicateKeys.length) problems.push(`${v.duplicateKeys.length} keys acknowledged twice`)
  if (v.stored < v.acknowledged) problems.push(`${v.acknowledged - v.stored} acknowledged links not stored`)
  if (v.redirected < v.acknowledged) problems.push(`${v.acknowledged - v.redirected} acknowledged links not redirecting`)
  return problems
}

function burstProblems (name: string, figures: RollbackFigures | FailoverFigures, allowed: string[]): string[] {
  const problems: string[] = []
  const { check, earlier } = figures
  if (check.duplicateKeys) problems.push(`${name}: ${check.duplicateKeys} keys answered 201 twice`)
  if (earlier.intact < earlier.links) problems.push(`${name}: ${earlier.links - earlier.intact} earlier links no longer redirect to or read back their URL`)
  const broken = check.acknowledged - Math.min(check.redirected, check.readBack)
  if (broken > 0) problems.push(`${name}: ${broken} acknowledged links not redirecting to or reading back their URL`)
  for (const [half, burst] of [['before', figures.before], ['after', figures.after]] as const) {
    const failed = Object.entries(burst.byStatus).filter(([status]) => status !== '201' && !allowed.includes(status))
    if (failed.length) problems.push(`${name}: creates ${half}: ${failed.map(([status, n]) => `${n} × ${status}`).join(', ')}`)
  }
  return problems
}

function verdict (problems: string[]): string {
  return problems.length ? `**FAILED:** ${problems.join('; ')}.` : '**Passed:** nothing the contract forbids happened.'
}

function checkLine (check: HttpCheckFigures, earlier: { links: number, intact: number }): string {
  return `Of ${count(check.acknowledged)} links answered \`201\`, **${count(check.duplicateKeys)} keys were answered \`201\` twice**` +
    `${check.duplicateExamples.length ? ` (e.g. ${check.duplicateExamples.map((k) => `\`${k}\``).join(', ')})` : ''}; ` +
    `${count(check.redirected)} redirect to their URL and ${count(check.readBack)} read back with it (caches dropped first, so Cassandra answers). ` +
    `**${count(earlier.intact)} of the ${count(earlier.links)} links acknowledged before the fault still point where they did.**`
}

export function renderFaults (report: FaultsReport): string {
  const v = report.verification
  const rb = report.redisRollback
  const problems = [
    ...(report.totals.status500 ? [`${report.totals.status500} × 500`] : []),
    ...(report.totals.violations ? [`${report.totals.violations} contract violations in the traffic`] : []),
    ...report.phases.flatMap((r) => phaseProblems(r, true)),
    ...verificationProblems(v),
    ...Object.entries(report.gracefulExits).filter(([, exit]) => exit.code !== 0).map(([name, exit]) => `${name} exited ${exit.code ?? exit.signal}`),
    ...(rb ? burstProblems('redis-rollback', rb, []) : [])
  ]
  const exits = Object.entries(report.gracefulExits).map(([name, exit]) => `${name} exited ${exit.code ?? exit.signal} in ${exit.ms} ms`)
  return [
    `Last run finished ${when(report.finishedAt)}. ${verdict(problems)}`,
    '',
    ...phaseTable(report.phases),
    '',
    `${count(report.totals.requests)} requests of the steady traffic, ${count(report.totals.status500)} × \`500\`, ${count(report.totals.violations)} contract violations. ` +
      `**${count(v.acknowledged)} links acknowledged, ${count(v.stored)} stored, ${count(v.redirected)} redirecting, ${count(v.duplicateKeys.length)} duplicate keys** ` +
      '(checked after Redis was flushed). ' +
      (exits.length ? `Graceful stops under load: ${exits.join(', ')}.` : ''),
    ...(rb
      ? ['',
          `**Redis rollback** (the \`redis-rollback\` row): a snapshot of ${count(rb.snapshotKeys)} keys, ${count(total(rb.before))} creates ` +
            `(${byStatus(rb.before.byStatus)}, ${seconds(rb.before.ms)} s), the snapshot put back in one \`MULTI\` ` +
            `(${count(rb.restore.deleted)} keys deleted, ${count(rb.restore.restored)} restored, ${rb.restore.ms} ms), then ` +
            `${count(total(rb.after))} more creates (${byStatus(rb.after.byStatus)}, ${seconds(rb.after.ms)} s), ` +
            `${count(rb.steadyAcknowledged)} more links from the steady traffic. ${checkLine(rb.check, rb.earlier)}`]
      : ['', '**Redis rollback:** not run.'])
  ].join('\n')
}

export function renderFuzz (report: FuzzReport): string {
  const cases = report.summary.map((line) => /\d+ generated\b.*/.exec(line)?.[0]).find((line) => line !== undefined)
  return [
    `Last run finished ${when(report.finishedAt)}, ${report.maxExamples} examples per operation${cases ? `, test cases: ${cases}` : ''}: ` +
      (report.exitCode === 0 ? '**passed** (schemathesis exited 0: every check held on every answer).' : `**FAILED** (schemathesis exited ${report.exitCode}).`) +
      ' Its summary:',
    '',
    '```',
    ...report.summary.map((line) => line.trimEnd()),
    '```'
  ].join('\n')
}

export function renderCluster (report: ClusterReport): string {
  const v = report.verification
  const fo = report.redisFailover
  const catchUp = Object.entries(report.catchUp)
    .filter(([, value]) => !(Array.isArray(value) && value.length === 0))
    .map(([name, value]) => `${name} ${Array.isArray(value) ? value.join(' ') : String(value)}`)
  const problems = [
    ...(report.violations.length ? [`${report.violations.length} contract violations in the traffic`] : []),
    ...report.phases.flatMap((r) => phaseProblems(r, r.name === 'redis-failover')),
    ...verificationProblems(v),
    ...(Array.isArray(report.catchUp['missingOnVictim']) && report.catchUp['missingOnVictim'].length ? ['links missing on the node that came back'] : []),
    ...(fo ? burstProblems('redis-failover', fo, ['503']) : [])
  ]
  return [
    `Last run finished ${when(report.finishedAt)}. ${verdict(problems)}`,
    '',
    ...phaseTable(report.phases),
    '',
    `**${count(v.acknowledged)} links acknowledged in the node-loss run, ${count(v.stored)} stored, ${count(v.redirected)} redirecting, ${count(v.duplicateKeys.length)} duplicate keys.** ` +
      `Catching up: ${catchUp.join('; ')}.`,
    ...(fo
      ? ['',
          `**Redis failover** (the \`redis-failover\` row): ${count(total(fo.before))} creates (${byStatus(fo.before.byStatus)}) while the replica's link to the primary was stalled; ` +
            `the primary SIGKILLed with the replica ${count(fo.lagBytes)} bytes of replication stream behind, the replica promoted ${fo.promoteMs} ms later ` +
            `and the services' Redis endpoint pointed at it (their connections dropped, as a failover does); then ${count(total(fo.after))} more creates (${byStatus(fo.after.byStatus)}), ` +
            `${count(fo.steadyAcknowledged)} links from the steady traffic. ${checkLine(fo.check, fo.earlier)}`]
      : ['', '**Redis failover:** not run.'])
  ].join('\n')
}

/** Replaces what is between `<!-- name:begin … -->` and `<!-- name:end -->` in `doc` with `body`. */
export function spliceSection (doc: string, name: Section, body: string, source: string): string {
  // Markers on lines of their own: prose quoting a marker is not one.
  const pattern = new RegExp(`^<!-- ${name}:begin[^\\n]*-->$[\\s\\S]*?^<!-- ${name}:end -->$`, 'm')
  if (!pattern.test(doc)) throw new Error(`docs/reliability.md has no <!-- ${name}:begin --> … <!-- ${name}:end --> markers`)
  const block = `<!-- ${name}:begin (written by scripts/faults.ts from ${source}; edit the text outside these markers) -->\n${body}\n<!-- ${name}:end -->`
  return doc.replace(pattern, () => block)
}
