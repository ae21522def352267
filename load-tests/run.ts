// npm run load: one k6 scenario of load-tests/ against the local stack, through nginx (USAGE below).
// Also the smoke step of npm test (scripts/test.ts runs `smoke --npm-test`).
//
// Load scenarios need the per-client limits out of the way, since all the traffic comes from one
// address: nginx runs with SW_NGINX_ENV="local load-test" (limits counted, not enforced; see
// nginx/README.md) and create-service with SW_RATE_LIMIT_MAX (scripts/start.sh). This sets both
// up, restarting nginx's config and create-service when they run without them.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { K6, ROOT, ToolError, cli, foreground as run, goBuild, log as toolLog } from '../scripts/tools.ts'

const USAGE = `npm run load -- <scenario> [options]: one k6 scenario of load-tests/ against the local stack
(through nginx, http://localhost:8080). Leaves the k6 summary as JSON under reports/.

  smoke                every endpoint once, all checks (a few seconds)
  redirect             constant-rate redirects over the seeded links (Zipf), 1 create per 100
  create               bursts of creation
  spike                redirects at a base rate, then ten times it for 20 s
  soak                 the steady mix for 2 minutes (--long: 30 minutes)
  seed                 seeds links for the others (100,000; --million or --links N for more)

Options: --rate N (requests/s; each scenario has its own default), --duration 60s, --long,
         --links N, --million, --no-timing (drop latency thresholds: errors and checks only)
         --npm-test (smoke only: the step of npm test; no timing thresholds, and the services
         it had to start are stopped again)
The stack is started (npm start -- --detach) when it is not running; \`npm stop\` stops it.
redirect and soak also check click counting afterwards (load-tests/clicks.ts).
`

const BASE_URL = process.env.BASE_URL ?? 'http://localhost:8080'
const LOAD_DIR = join(process.env.SW_RUN_DIR ?? join(ROOT, '.run'), 'load')
const KEYS_FILE = join(LOAD_DIR, 'shortwave.keys')
const REPORTS = join(ROOT, 'reports')
const LOAD_RATE_LIMIT = 1_000_000 // the most create-service accepts: per minute, per client
const SCENARIOS = ['smoke', 'redirect', 'create', 'spike', 'soak', 'seed']

const log = (message: string): void => toolLog('load', message)

async function must (cmd: string, args: string[], quiet = false): Promise<void> {
  const code = await run(cmd, args, {}, quiet)
  if (code !== 0) throw new ToolError(`${cmd} ${args.join(' ')} failed (exit ${code})`)
}

/** A function of scripts/lib.sh, the one place that talks to the stack's process-compose. */
function lib (script: string, ...args: string[]): string {
  const r = spawnSync('bash', ['-c', `source scripts/lib.sh; ${script}`, 'lib', ...args], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']
  })
  if (r.status !== 0) throw new ToolError(`scripts/lib.sh: ${script} failed (exit ${r.status})`)
  return r.stdout
}

// eslint-disable-next-line no-template-curly-in-string -- bash's own ${…}, for lib.sh's SERVICES list
const notRunning = (): string[] => lib('for n in "${SERVICES[@]}"; do stack_running "$n" || echo "$n"; done')
  .split('\n').filter(Boolean)
const startStack = (): Promise<void> => must('bash', ['scripts/start.sh', '--detach'], true)

/** The stack, with the per-client limits out of the way (see the top of this file). */
async function stackForLoad (): Promise<void> {
  process.env.SW_NGINX_ENV = 'local load-test'
  process.env.SW_RATE_LIMIT_MAX = String(LOAD_RATE_LIMIT)
  if (!notRunning().includes('create-service')) {
    // The metadata route announces its quota (RateLimit-Policy: "read";q=<n>;w=60): 10 x RATE_LIMIT_MAX.
    const response = await fetch('http://127.0.0.1:3001/api/v1/links/zzzzzzz', { signal: AbortSignal.timeout(5000) })
      .catch(() => undefined)
    const limit = Number(/;q=(\d+)/.exec(response?.headers.get('ratelimit-policy') ?? '')?.[1] ?? NaN)
    if (limit < LOAD_RATE_LIMIT) {
      log(`create-service runs with RATE_LIMIT_MAX=${limit / 10}; restarting it with ${LOAD_RATE_LIMIT} for the load test`)
      process.stdout.write(lib('stack_stop "$@"', 'create-service'))
    }
  }
  // Starts what is missing (start.sh reuses what runs); reloads nginx when its env changed.
  if (notRunning().length) await startStack()
  await must('bash', ['scripts/infra.sh', 'up', 'nginx'])
}

/** Seeded links; seeds when the key file is missing or stale (e.g. the Cassandra data was wiped since). */
async function ensureSeed (): Promise<void> {
  const keys = existsSync(KEYS_FILE) ? readFileSync(KEYS_FILE, 'utf8').split('\n').filter(Boolean) : []
  const status = keys[0]
    ? await fetch(`${BASE_URL}/api/v1/links/${keys[0]}`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0)
    : 0
  if (status === 200) {
    log(`using ${keys.length} seeded links (${relative(ROOT, KEYS_FILE)}; npm run load -- seed to reseed)`)
    return
  }
  log('no seeded links yet: seeding 100,000 (npm run load -- seed --million for more)')
  await must(process.execPath, ['load-tests/seed.ts', '--out', KEYS_FILE])
}

/** CPU time since boot by kind: user nice system idle iowait irq softirq steal (guest is already in user). */
const cpuTimes = (): number[] => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1, 9).map(Number)

// On a shared VM a latency threshold crossed while much was stolen says more about the host than the stack.
export function cpuReport (before: number[], after: number[]): string {
  const d = after.map((v, i) => v - before[i]!)
  const total = d.reduce((a, b) => a + b, 0)
  if (total <= 0) return 'machine during the run: no CPU time counted'
  const [idle, iowait, steal] = [d[3]!, d[4]!, d[7]!]
  const busy = (100 * (total - idle - iowait - steal) / total).toFixed(0)
  return `machine during the run: ${busy}% busy, ${(100 * steal / total).toFixed(0)}% stolen by the hypervisor`
}

function parse (): ReturnType<typeof parseOptions> {
  try {
    return parseOptions()
  } catch (error) {
    process.stderr.write(USAGE)
    throw new ToolError(error instanceof Error ? error.message : String(error))
  }
}

const parseOptions = () => parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    rate: { type: 'string' },
    duration: { type: 'string' },
    long: { type: 'boolean' },
    links: { type: 'string', default: '100000' },
    million: { type: 'boolean' },
    'no-timing': { type: 'boolean' },
    'npm-test': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  }
})

async function main (): Promise<void> {
  const { values: o, positionals } = parse()
  const [scenario = '', ...extra] = positionals
  if (o.help || scenario === 'help') { process.stdout.write(USAGE); return }
  if (!SCENARIOS.includes(scenario) || extra.length || (o['npm-test'] && scenario !== 'smoke')) {
    process.stderr.write(USAGE)
    throw new ToolError(`unknown scenario or arguments: ${process.argv.slice(2).join(' ')}`)
  }
  if (scenario === 'seed') {
    return await must(process.execPath, ['load-tests/seed.ts', '--out', KEYS_FILE, ...(o.million ? ['--million'] : ['--links', o.links])])
  }

  await goBuild(K6) // before the stack: a build failure should not leave services started
  mkdirSync(REPORTS, { recursive: true })
  mkdirSync(LOAD_DIR, { recursive: true })
  const started = scenario === 'smoke' ? notRunning() : []
  let rc = 0
  try {
    if (scenario !== 'smoke') await stackForLoad()
    else if (started.length) await startStack()
    rc = await runScenario(scenario, o)
  } finally {
    if (o['npm-test'] && started.length) {
      log(`stopping the services this step started: ${started.join(' ')}`)
      process.stdout.write(lib('stack_stop "$@"', ...started))
    }
  }
  process.exitCode = rc
}

type Options = ReturnType<typeof parseOptions>['values']

async function runScenario (scenario: string, o: Options): Promise<number> {
  const env = [`TIMING=${o['no-timing'] || o['npm-test'] ? 'off' : 'on'}`]
  if (o.rate) env.push(`RATE=${o.rate}`)
  const duration = o.duration ?? (o.long ? '30m' : undefined)
  if (duration) env.push(`DURATION=${duration}`)
  if (['redirect', 'spike', 'soak'].includes(scenario)) {
    await ensureSeed()
    env.push(`KEYS_FILE=${KEYS_FILE}`)
  }
  const tracers = ['redirect', 'soak'].includes(scenario) ? join(LOAD_DIR, 'tracers.json') : undefined
  if (tracers) {
    await must(process.execPath, ['load-tests/clicks.ts', 'prepare', '--base-url', BASE_URL, '--out', tracers])
    env.push(`TRACERS_FILE=${tracers}`)
  }

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const summary = join(REPORTS, o['npm-test'] ? 'smoke-test.json' : `${scenario}-${stamp}.json`)
  log(`k6 run load-tests/${scenario}.js ${env.map((e) => `-e ${e}`).join(' ')}`)
  const before = cpuTimes()
  let rc = await run(await goBuild(K6), [
    'run', '--quiet', ...(o['npm-test'] ? ['--no-color'] : []), '--summary-export', summary, '-e', `BASE_URL=${BASE_URL}`,
    ...env.flatMap((e) => ['-e', e]), `load-tests/${scenario}.js`
  ], { K6_NO_USAGE_REPORT: 'true', K6_AUTO_EXTENSION_RESOLUTION: 'false' })
  log(cpuReport(before, cpuTimes()))
  if (tracers) {
    const verified = await run(process.execPath, ['load-tests/clicks.ts', 'verify', '--base-url', BASE_URL,
      '--tracers', tracers, '--summary', summary, '--out', join(REPORTS, `${scenario}-${stamp}.clicks.json`)])
    if (verified !== 0 && rc === 0) rc = 1
  }
  log(`summary: ${relative(ROOT, summary)}${rc ? ` (FAILED: exit ${rc})` : ''}`)
  return rc
}

if (import.meta.main) cli('load', main)
