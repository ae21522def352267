// npm test (and CI, .ci/run) after scripts/ensure-tools.sh has installed what is missing:
// typecheck, lint, unit/integration tests against the real Cassandra and Redis, the k6 smoke run,
// the tests that stop the shared stack, then the expensive reliability suites on nodes of their
// own (scripts/faults.ts: faults and fuzz, then the three-node cluster). Fails fast. Infra this run
// had to start is stopped again as soon as nothing needs it; infra that was already running (e.g.
// `npm run infra up` for a warm Cassandra) is left alone.
//
//   node scripts/test.ts          everything (npm test)
//   node scripts/test.ts quick    typecheck, lint and the main vitest suite only (npm run test:quick)
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { foreground, log, ROOT } from './tools.ts'

const mode = process.argv[2] ?? 'all'
if (mode !== 'all' && mode !== 'quick') {
  log('test', 'usage: node scripts/test.ts [quick]')
  process.exit(2)
}

// The ports the stack runs on (infra/stack.env), as scripts/lib.sh reads them: the environment wins.
const stack = Object.fromEntries(readFileSync(join(ROOT, 'infra/stack.env'), 'utf8').split('\n')
  .map((line) => /^(\w+)=(.*)$/.exec(line.trim())).filter((m) => m !== null).map((m) => [m[1]!, process.env[m[1]!] ?? m[2]!]))
const resultsDir = join(ROOT, 'reports/vitest')
const env = {
  ...process.env,
  // What the tests connect to (testing/src/infra.ts).
  SW_TEST_CASSANDRA: `127.0.0.1:${stack['SW_CASSANDRA_CQL_PORT']}`,
  SW_TEST_REDIS_URL: `redis://127.0.0.1:${stack['SW_REDIS_PORT']}`,
  // Plain `node` is the pinned Node 24 for every child too (e.g. a bin's `#!/usr/bin/env node`).
  PATH: `${join(ROOT, 'node_modules/.bin')}${delimiter}${process.env['PATH']}`,
  // Every vitest run of this one leaves its results here (vitest.config.ts); count() adds them up.
  SW_VITEST_RESULTS_DIR: resultsDir
}
const INFRA = ['cassandra', 'redis', 'nginx']
const began = performance.now()
const timings: string[] = []
let startedInfra: string[] = []
let stopping = false

const exec = (cmd: string, args: string[], quiet = false): Promise<number> => foreground(cmd, args, env, quiet)

const seconds = (from: number): string => `${((performance.now() - from) / 1000).toFixed(1)}s`
const verdict = (rc: number): string => (rc === 0 ? 'ok' : `FAILED (exit ${rc})`)

/** Runs one step, records its wall time, and ends the run on failure. */
async function step (name: string, cmd: string, ...args: string[]): Promise<void> {
  log('test', `── ${name}: ${cmd} ${args.join(' ')}`)
  const t0 = performance.now()
  const rc = await exec(cmd, args)
  timings.push(`${name.padEnd(14)} ${seconds(t0).padStart(8)}  ${verdict(rc)}`)
  if (rc !== 0) {
    log('test', `${name} failed (exit ${rc})`)
    await finish(rc)
  }
}

async function stopStartedInfra (): Promise<void> {
  if (startedInfra.length === 0) return
  log('test', `stopping the infra this run started: ${startedInfra.join(' ')}`)
  const parts = startedInfra
  startedInfra = []
  await exec('bash', ['scripts/infra.sh', 'down', ...parts])
}

// The run's closing line, alone and last: the tests of every vitest run of it, in the plain form
// CI reads ('N passed, N failed'), so one tool's summary in the middle (schemathesis prints
// pytest's) is not taken for the whole run's.
function count (): string | null {
  if (!existsSync(resultsDir)) return null
  const runs = readdirSync(resultsDir).filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Record<string, number>)
  if (runs.length === 0) return null
  const sum = (field: string): number => runs.reduce((total, r) => total + (r[field] ?? 0), 0)
  return `tests: ${sum('numPassedTests')} passed, ${sum('numFailedTests')} failed, ` +
    `${sum('numPendingTests') + sum('numTodoTests')} skipped`
}

async function finish (rc: number): Promise<never> {
  stopping = true
  await stopStartedInfra()
  if (timings.length > 0) {
    process.stdout.write(`\nstep            wall time\n${timings.join('\n')}\n${'total'.padEnd(14)} ${seconds(began).padStart(8)}  ${verdict(rc)}\n\n`)
  }
  const line = count()
  if (line !== null) process.stdout.write(`${line}\n`)
  process.exit(rc)
}

for (const [signal, rc] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  // The children got the signal too (one process group); once they are gone, clean up.
  process.on(signal, () => { if (!stopping) finish(rc).catch(() => process.exit(rc)) })
}

rmSync(resultsDir, { recursive: true, force: true })
for (const part of INFRA) {
  if (await exec('bash', ['scripts/infra.sh', 'status', part], true) !== 0) startedInfra.push(part)
}
await step('infra-up', 'bash', 'scripts/infra.sh', 'up', ...INFRA)
await step('typecheck', 'npm', 'run', '--silent', 'typecheck')
await step('lint', 'npm', 'run', '--silent', 'lint')
// Built before the tests so the cold Go build doesn't compete with them for the two cores (the
// quick loop leaves it to tests/deploy, which build what is missing).
if (mode === 'all') await step('deploy-tools', 'node', 'scripts/deploy-check.ts', 'build')
// The observability stack's Prometheus, exporters and Jaeger, for tests/infra-stop/observe-stack.test.ts.
if (mode === 'all') await step('observe-tools', 'bash', 'scripts/observe.sh', 'tools')
await step('vitest', 'npm', 'run', '--silent', 'vitest')
// 100,000 links migrated while redirects are served (tests/migration): alone, as it needs Cassandra to
// itself, and not in the quick loop (about 9 minutes on a busy two-core machine).
if (mode === 'all') await step('migration', 'npx', '--no', 'vitest', 'run', '--project', 'migration')
if (mode === 'all') {
  // The k6 smoke scenario through nginx: thresholds on errors and checks only.
  await step('smoke', 'node', 'load-tests/run.ts', 'smoke', '--npm-test')
  await step('infra-stop', 'npx', '--no', 'vitest', 'run', '--project', 'infra-stop')
  // The reliability suites bring their own Cassandra nodes and Redis: the shared ones would only
  // take memory and CPU from them now.
  await stopStartedInfra()
  await step('test:faults', 'node', 'scripts/faults.ts', 'faults')
  await step('test:cluster', 'node', 'scripts/faults.ts', 'cluster')
}
await finish(0)
