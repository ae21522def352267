// The creation or redirect path of two commits side by side, interleaved in one run on this machine:
//
//   npm run bench:ab -- --path create|redirect --base <git ref> [--head <git ref>] [--rounds 6] [--seconds 10]
//                       [--owned] [--base-env K=V,…] [--head-env K=V,…] [--otlp-sink] [--sampled <percent>]
//
// --head defaults to HEAD. --base-env and --head-env add settings to one side's services: the same
// commit on both sides with CLICK_DIMENSIONS=false on one measures what analytics cost.
// --otlp-sink starts an OTLP/HTTP receiver in this process that answers and discards, and a side's
// OTEL_EXPORTER_OTLP_ENDPOINT=sink points there: what tracing costs the services, without a
// collector's own work on the same two cores (it prints how many exports it took, so a side that
// exported nothing shows). --sampled sends both sides what nginx would send them: a traceparent on
// every request, that percentage of them sampled (trace-context.lua).
// Both sides run from checkouts of their own, made alike: a side run
// from this working tree instead measured up to a fifth slower than a checkout of the very same
// commit (docs/benchmarks.md), so nothing is compared across the two kinds.
//
// Each commit gets a key-worker, a create-service and a redirect-service of its own (its own
// checkout under .run/ab/, its own Redis prefix, one shared keyspace migrated by this checkout),
// all running the whole time; the rounds alternate which one wrk drives, first one then the
// other, so drift of the machine falls on both alike: `create` POSTs /api/v1/links (generated
// keys), `redirect` GETs one link's /{key} from the redirect-service (cache hot) as browsers do
// (redirect.lua: a user agent, a referrer, UTM tags, an address per request), 50 connections
// each. Besides the rate it reports the CPU time per request of each side's service on the path
// (create-service or redirect-service) and key-worker (it folds the clicks and their dimensions). With --owned
// the creates carry an API key (one per side, made here), so each link has an
// owner and is listed: the path API callers take, with the owner's list entries written. It prints
// each round and the medians, and writes reports/ab-<path>-<time>.json. Run it on
// the local Cassandra and Redis (`npm run infra -- up cassandra redis`); nothing else should load
// the machine meanwhile.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { runApiKeyCommand } from '../../create-service/src/cli/apikey.ts'
import { cpuTicks, median, runWrk, TICK_US, type Figures } from './wrk.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const RUN = join(ROOT, '.run/ab')
const NODE = process.execPath
const { values: args } = parseArgs({
  options: {
    path: { type: 'string', default: 'create' },
    base: { type: 'string' },
    head: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '10' },
    owned: { type: 'boolean', default: false },
    'base-env': { type: 'string', default: '' },
    'head-env': { type: 'string', default: '' },
    'otlp-sink': { type: 'boolean', default: false },
    sampled: { type: 'string' }
  }
})

/** "K=V,K2=V2" → an environment. */
function settings (text: string): Record<string, string> {
  return Object.fromEntries(text.split(',').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=')
    if (at <= 0) throw new Error(`--base-env/--head-env: "${pair}" is not K=V`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}
const PATH = args.path
if (!args.base || (PATH !== 'create' && PATH !== 'redirect')) {
  throw new Error('usage: npm run bench:ab -- --path create|redirect --base <git ref> [--head <git ref>] [--rounds N] [--seconds N] [--owned]')
}
const ROUNDS = Number(args.rounds)
const SECONDS = Number(args.seconds)
const KEYSPACE = 'shortwave_ab'

const log = (line: string): void => { process.stderr.write(`[ab] ${line}\n`) }
const git = (...a: string[]): string => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim()

interface Side {
  name: string
  /** The commit, and the settings given to this side alone. */
  label: string
  commit: string
  env: Record<string, string>
  tree: string
  createPort: number
  workerPort: number
  redirectPort: number
}

type Service = 'create' | 'worker' | 'redirect'
const SCRIPTS: Record<Service, string> = {
  create: 'create-service/src/server.ts',
  worker: 'key-worker/src/server.ts',
  redirect: 'redirect-service/src/server.ts'
}

/** A checkout of the base commit with its own node_modules, made once and reused. */
function checkout (ref: string): string {
  const commit = git('rev-parse', '--short', ref)
  const tree = join(RUN, commit)
  if (!existsSync(tree)) {
    log(`checking out ${commit} into ${tree}`)
    git('worktree', 'add', '--detach', tree, commit)
  }
  if (!existsSync(join(tree, 'node_modules'))) execFileSync('npm', ['ci', '--silent'], { cwd: tree, stdio: 'inherit' })
  return tree
}

const sink = { url: '', exports: 0, bytes: 0 }

/** The --otlp-sink receiver: every export answered 200, counted, dropped. */
async function startSink (): Promise<() => void> {
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => { sink.bytes += chunk.length })
    request.on('end', () => {
      sink.exports++
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  sink.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return () => server.close()
}

function envOf (side: Side, service: Service): NodeJS.ProcessEnv {
  const sideEnv = side.env['OTEL_EXPORTER_OTLP_ENDPOINT'] === 'sink'
    ? { ...side.env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }
    : side.env
  return {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String({ create: side.createPort, worker: side.workerPort, redirect: side.redirectPort }[service]),
    CASSANDRA_KEYSPACE: KEYSPACE,
    REDIS_KEY_PREFIX: `ab-${side.name}:`,
    WORKER_ID: `ab-${side.name}`,
    LOG_LEVEL: 'warn',
    // Unlimited creation: the benchmark measures the path, not the budget (both names, old and new).
    RATE_LIMIT_MAX: '1000000',
    ANONYMOUS_RATE: '10000000/min',
    API_KEY_RATE: '10000000/min',
    ...sideEnv
  }
}

function start (side: Side, service: Service): ChildProcess {
  const out = openSync(join(RUN, `${side.name}-${service}.log`), 'w')
  return spawn(NODE, [SCRIPTS[service]], { cwd: side.tree, env: envOf(side, service), stdio: ['ignore', out, out] })
}

/** The Authorization header of a new API key in the A/B's keyspace (--owned). */
async function apiKeyHeader (name: string): Promise<string> {
  let out = ''
  const env = { ...process.env, CASSANDRA_KEYSPACE: KEYSPACE }
  const code = await runApiKeyCommand(['create', '--name', name, '--json'], env, { out: (text) => { out += text }, err: (text) => { process.stderr.write(text) } })
  if (code !== 0) throw new Error(`npm run apikey -- create failed (exit ${code})`)
  return `Bearer ${(JSON.parse(out) as { secret: string }).secret}`
}

/** What wrk drives on a side: the create endpoint, or the redirect of one link created there. */
async function targetOf (side: Side): Promise<{ url: string, script?: string }> {
  const create = `http://127.0.0.1:${side.createPort}/api/v1/links`
  if (PATH === 'create') return { url: create, script: join(import.meta.dirname, 'create.lua') }
  const redirectScript = join(import.meta.dirname, 'redirect.lua')
  const response = await fetch(create, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/bench/a-typical-long-path?utm_source=bench' }) })
  if (response.status !== 201) throw new Error(`${side.name}: create answered ${response.status}`)
  const { key } = await response.json() as { key: string }
  return { url: `http://127.0.0.1:${side.redirectPort}/${key}`, script: redirectScript }
}

async function ready (port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)
    if (ok) return
    await sleep(250)
  }
  throw new Error(`127.0.0.1:${port} was not ready within ${timeoutMs} ms`)
}

/**
 * Empties the A/B's own Redis keys (every side's prefix). A pool left by an earlier run holds keys
 * in that commit's format: another commit would pop them as something else (a single key as a
 * chunk, a chunk as a key) and measure that instead of itself.
 */
async function forgetEarlierRuns (): Promise<void> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:16379')
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'ab-*', 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

async function main (): Promise<void> {
  mkdirSync(RUN, { recursive: true })
  await forgetEarlierRuns()
  const stopSink = args['otlp-sink'] ? await startSink() : () => {}
  const side = (name: 'base' | 'head', ref: string, ports: number[]): Side => {
    const commit = git('rev-parse', '--short', ref)
    const env = settings(args[`${name}-env`]!)
    const label = [commit, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')
    const [createPort, workerPort, redirectPort] = ports as [number, number, number]
    return { name, label, commit, env, tree: checkout(ref), createPort, workerPort, redirectPort }
  }
  const sides: Side[] = [side('base', args.base!, [3211, 3212, 3215]), side('head', args.head ?? 'HEAD', [3213, 3214, 3216])]
  log(`migrating keyspace ${KEYSPACE}`)
  execFileSync(NODE, ['common/src/cassandra/migrate-cli.ts'], { cwd: ROOT, env: { ...process.env, CASSANDRA_KEYSPACE: KEYSPACE }, stdio: 'inherit' })

  const started = new Map(sides.map((side) => [side.name, { worker: start(side, 'worker'), create: start(side, 'create'), redirect: start(side, 'redirect') }]))
  const processes = [...started.values()].flatMap((p) => [p.worker, p.create, p.redirect])
  const results: Record<string, Figures[]> = { base: [], head: [] }
  const cpu: Record<string, Array<{ serviceUs: number, workerUs: number }>> = { base: [], head: [] }
  // The CPU of the service the path is about: create-service's for creates, redirect-service's for redirects.
  const measured = PATH === 'create' ? 'create' : 'redirect'
  try {
    for (const side of sides) {
      await Promise.all([ready(side.workerPort), ready(side.createPort), ready(side.redirectPort)])
    }
    const targets = new Map<string, { url: string, script?: string, env: Record<string, string> }>()
    for (const side of sides) {
      const env: Record<string, string> = args.owned
        ? { SW_BENCH_AUTHORIZATION: await apiKeyHeader(`ab-${side.name}-${side.commit}`) }
        : {}
      targets.set(side.name, { ...await targetOf(side), env })
    }
    const wrk = (side: Side, seconds: number): Figures => {
      const { url, script, env } = targets.get(side.name)!
      const traced = args.sampled === undefined
        ? {}
        : {
            prelude: join(import.meta.dirname, 'trace-context.lua'),
            env: { ...env, SW_BENCH_SAMPLED_PERCENT: args.sampled }
          }
      const wrkOptions = { seconds, connections: 50, threads: 2, workDir: RUN, env, ...traced }
      return runWrk(url, { ...(script ? { script } : {}), ...wrkOptions })
    }
    for (const side of sides) wrk(side, 3)
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        // The pool refilled after the last round, so neither side pays for the other's refill.
        await ready(side.workerPort)
        const pids = started.get(side.name)!
        const before = [cpuTicks([pids[measured].pid!]), cpuTicks([pids.worker.pid!])]
        const figures = wrk(side, SECONDS)
        // The key-worker folds the last second's clicks after wrk stops: wait for it.
        await sleep(2500)
        const perRequest = (pid: number, ticks: number): number =>
          (cpuTicks([pid]) - ticks) * TICK_US / figures.requests
        const used = {
          serviceUs: perRequest(pids[measured].pid!, before[0]!),
          workerUs: perRequest(pids.worker.pid!, before[1]!)
        }
        results[side.name]!.push(figures)
        cpu[side.name]!.push(used)
        log(`round ${round + 1} ${side.name.padEnd(4)} ${side.label.padEnd(16)} ${figures.rps.toFixed(0).padStart(6)} ${PATH}s/s  p50 ${figures.p50.toFixed(1)} p99 ${figures.p99.toFixed(1)} ms  errors ${figures.errors + (figures.non2xx3xx ?? 0)}  CPU µs/req ${measured} ${used.serviceUs.toFixed(1)} worker ${used.workerUs.toFixed(1)}`)
      }
    }
  } finally {
    for (const p of processes) p.kill('SIGTERM')
    stopSink()
  }
  const summary = Object.fromEntries(sides.map((side) => {
    const runs = results[side.name]!
    return [side.name, {
      commit: side.label,
      serviceCpuUs: median(cpu[side.name]!.map((c) => c.serviceUs)),
      workerCpuUs: median(cpu[side.name]!.map((c) => c.workerUs)),
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((a, r) => a + r.errors + (r.non2xx3xx ?? 0), 0)
    }]
  }))
  const file = join(ROOT, 'reports', `ab-${PATH}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(ROOT, 'reports'), { recursive: true })
  const raw = { path: PATH, owned: args.owned, rounds: ROUNDS, seconds: SECONDS, summary, results, ...(args['otlp-sink'] ? { sink: { exports: sink.exports, bytes: sink.bytes } } : {}) }
  writeFileSync(file, JSON.stringify(raw, null, 2))
  console.log(`\n| commit | ${PATH}s/s${args.owned ? ' (with an API key)' : ''} (median of ${ROUNDS}) | p50 ms | p99 ms | CPU µs/req: ${measured}-service, key-worker | errors |\n| --- | --- | --- | --- | --- | --- |`)
  for (const s of Object.values(summary)) console.log(`| ${s.commit} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.serviceCpuUs.toFixed(1)}, ${s.workerCpuUs.toFixed(1)} | ${s.errors} |`)
  if (args['otlp-sink']) console.log(`\nOTLP sink: ${sink.exports} exports, ${(sink.bytes / 1024).toFixed(0)} KiB`)
  console.log(`\nhead / base = ${(summary['head']!.rps / summary['base']!.rps).toFixed(2)}; raw figures in ${file}`)
}

await main()
