// npm run bench: the side-by-side benchmark of issue 4, on this machine, written to
// docs/benchmarks.md (between the bench markers; the prose around them is kept) and, raw, to
// reports/bench-<time>.json. See docs/benchmarks.md for what each row means.
//
//   node load-tests/bench/bench.ts [--rounds 3] [--seconds 8] [--quick]
//     --quick: one round of 4 s, no million-link dataset, docs/benchmarks.md left alone
//              (checks the script, not the machine)
//     --only import: just the import row (100,000 CSV rows through nginx), printed and saved
//              in reports/, docs/benchmarks.md left alone
//              (SW_IMPORT_SERVICE_ENV="K=V ..." sets the services' environment for it, e.g.
//              IMPORT_CONCURRENCY=128)
//
// It drives the local stack: restarts the services with the settings each measurement needs
// (scripts/start.sh with SW_SERVICE_ENV), runs its own nginx for the `return 302` ceiling and a
// bare Fastify for the framework floor, and leaves the stack running with default settings
// (create-service's rate limit raised, nginx's limits in dry run) when it is done.
import { createKeyPool } from '@shortwave/common/key-pool'
import { createLinkCache } from '@shortwave/common/link-cache'
import { redisKeys } from '@shortwave/common/redis-keys'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, release } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import cassandra from 'cassandra-driver'
import { benchImport, type ImportFigures } from './import-rate.ts'
import { cpuTicks, median, runWrk, TICK_US, type Figures } from './wrk.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const BENCH = join(ROOT, 'load-tests/bench')
const RUN = join(ROOT, '.run/bench')
const LOAD = join(ROOT, '.run/load')
const REPORTS = join(ROOT, 'reports')
const NODE = join(ROOT, 'node_modules/.bin/node')
const K6 = join(ROOT, '.cache/tools/bin/k6')

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' }
  }
})
const ROUNDS = args.quick ? 1 : Number(args.rounds)
const SECONDS = args.quick ? 4 : Number(args.seconds)
const WARMUP_S = 2
const CONNECTIONS = 50
const THREADS = 2
const CREATE_SUSTAINED_S = args.quick ? 10 : 60
const ZIPF_RATE = 1000
// A p99 of 20 s at 1,000/s is its 200 slowest requests: one stall moves it. More and longer
// rounds than the other measurements, so the 10,000-vs-1,000,000 comparison is of the stores, not
// of the stalls.
const ZIPF_SECONDS = args.quick ? 8 : 30
const ZIPF_ROUNDS = args.quick ? 1 : 5
const CLICK_RATE = 2000
const CLICK_SECONDS = args.quick ? 10 : 30

const NGINX_URL = 'http://127.0.0.1:8080'
const CEILING_PORT = 8190
const EDGE_CEILING_PORT = 8191
const BARE_PORT = 3190
const LOAD_ENV = { SW_NGINX_ENV: 'local load-test', SW_RATE_LIMIT_MAX: '1000000' }
const SERVICES = ['key-worker', 'create-service', 'redirect-service-1', 'redirect-service-2']
const REPLICAS = ['redirect-service-1', 'redirect-service-2']
const CACHE_OFF = 'LOCAL_CACHE_TTL_MS=0 LOCAL_NEGATIVE_TTL_MS=0'
// The key-worker's (default) CLAIM_BATCH_SIZE: each pool chunk holds that many keys.
const CLAIM_BATCH_SIZE = 100
const IMPORT_ROWS = args.quick ? 10_000 : 100_000

const log = (message: string): void => { process.stderr.write(`[shortwave bench] ${message}\n`) }

// ------------------------------------------------------------------ processes

function sh (script: string, env: Record<string, string> = {}): string {
  return execFileSync('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
}

function stopServices (names: string[]): void {
  sh(`source scripts/lib.sh; stack_stop ${names.join(' ')} >/dev/null`)
}

/** Starts whatever of the stack is not running, the services with `serviceEnv` on top of their defaults. */
function startStack (serviceEnv = ''): void {
  // start.sh migrates first; a Cassandra busy compacting can time that out: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      sh('bash scripts/start.sh --detach >/dev/null', { ...LOAD_ENV, SW_SERVICE_ENV: serviceEnv })
      return
    } catch (error) {
      if (attempt === 3) throw error
      log(`starting the stack failed (attempt ${attempt} of 3); retrying in 5 s`)
      execFileSync('sleep', ['5'])
    }
  }
}

function restart (names: string[], serviceEnv: string): void {
  log(`restarting ${names.join(', ')}${serviceEnv ? ` with ${serviceEnv}` : ' with default settings'}`)
  stopServices(names)
  startStack(serviceEnv)
}

async function waitForPort (url: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    try {
      await fetch(url, { redirect: 'manual' })
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${url} did not answer within 15 s`)
}

const children: ChildProcess[] = []
function child (command: string, argv: string[], logName: string): ChildProcess {
  mkdirSync(RUN, { recursive: true })
  const proc = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  proc.stderr!.on('data', (chunk: Buffer) => writeFileSync(join(RUN, logName), chunk, { flag: 'a' }))
  children.push(proc)
  return proc
}

async function startCeiling (): Promise<void> {
  const prefix = join(RUN, 'nginx')
  mkdirSync(join(prefix, 'tmp'), { recursive: true })
  mkdirSync(join(prefix, 'logs'), { recursive: true })
  child('nginx', ['-p', `${prefix}/`, '-c', join(BENCH, 'nginx-302.conf'), '-g', 'daemon off;'], 'nginx.log')
  await waitForPort(`http://127.0.0.1:${CEILING_PORT}/x`)
}

// The second ceiling: the stack's own nginx configuration, as the stack runs it (access log,
// request ids, limits, headers), with one change: the redirect location answers `return 302`
// instead of proxying. It shows what nginx itself costs per redirect in this configuration, so
// the full path can be compared with a ceiling that differs from it only in the services.
async function startEdgeCeiling (): Promise<void> {
  const prefix = join(RUN, 'nginx-edge')
  rmSync(prefix, { recursive: true, force: true })
  mkdirSync(join(prefix, 'logs'), { recursive: true })
  cpSync(join(ROOT, '.run/nginx/conf'), join(prefix, 'conf'), { recursive: true })
  const patch = (file: string, from: RegExp, to: string): void => {
    const text = readFileSync(file, 'utf8')
    if ((text.match(new RegExp(from.source, 'g')) ?? []).length !== 1) throw new Error(`${file}: expected exactly one match of ${from}`)
    writeFileSync(file, text.replace(from, to))
  }
  patch(join(prefix, 'conf/shortwave.conf'), /(\nlocation \/ \{[^}]*?)proxy_pass http:\/\/redirect_service;/, '$1return 302 "https://example.com/load/bench";')
  patch(join(prefix, 'conf/env.d/local.conf'), /listen 127\.0\.0\.1:8080;/, `listen 127.0.0.1:${EDGE_CEILING_PORT};`)
  child('nginx', ['-p', `${prefix}/`, '-c', join(prefix, 'conf/nginx.conf'), '-g', 'daemon off;'], 'nginx-edge.log')
  await waitForPort(`http://127.0.0.1:${EDGE_CEILING_PORT}/x`)
}

async function startBare (): Promise<void> {
  child(NODE, [join(BENCH, 'bare-fastify.ts'), String(BARE_PORT)], 'bare-fastify.log')
  await waitForPort(`http://127.0.0.1:${BARE_PORT}/x`)
}

function stopChildren (): void {
  for (const proc of children) if (proc.exitCode === null) proc.kill('SIGTERM')
}

// ------------------------------------------------------------------ CPU per request
// The CPU time of the serving processes per request (wrk.ts, cpuTicks): what code changes are compared by.

function childrenOf (pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === pid
    } catch {
      return false
    }
  })
}

/** The pid of a process of the local stack, as process-compose reports it (scripts/lib.sh stack_pid). */
function stackPid (name: string): number {
  return Number(sh(`source scripts/lib.sh; stack_pid ${name}`))
}

/** A process and its children (nginx: master and workers). */
const withChildren = (pid: number): number[] => [pid, ...childrenOf(pid)]

// ------------------------------------------------------------------ measurements

interface WrkRun {
  script?: string
  env?: Record<string, string>
  seconds?: number
  connections?: number
}

function wrk (url: string, opts: WrkRun = {}): Figures {
  return runWrk(url, { ...opts, seconds: opts.seconds ?? SECONDS, connections: opts.connections ?? CONNECTIONS, threads: THREADS, workDir: RUN })
}

function k6Zipf (keysFile: string): Figures {
  const summary = join(RUN, 'k6-zipf.json')
  execFileSync(K6, ['run', '--quiet', '--summary-export', summary, '-e', `BASE_URL=${NGINX_URL}`, '-e', `KEYS_FILE=${keysFile}`,
    '-e', `RATE=${ZIPF_RATE}`, '-e', `DURATION=${ZIPF_SECONDS}s`, join(BENCH, 'zipf.js')], {
    env: { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_AUTO_EXTENSION_RESOLUTION: 'false' },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const m = JSON.parse(readFileSync(summary, 'utf8')).metrics
  const d = m['http_req_duration{name:zipf}'] ?? m.http_req_duration
  const failed = m.http_req_failed
  return {
    rps: m.http_reqs.rate,
    p50: d.med,
    p95: d['p(95)'],
    p99: d['p(99)'],
    requests: m.http_reqs.count,
    errors: Math.round((failed?.value ?? 0) * m.http_reqs.count)
  }
}

function summarise (runs: Figures[]): Figures & { runs: Figures[] } {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p95: median(runs.map((r) => r.p95)),
    p99: median(runs.map((r) => r.p99)),
    ...(runs.every((r) => r.cpuUs !== undefined) ? { cpuUs: median(runs.map((r) => r.cpuUs!)) } : {}),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    errors: runs.reduce((a, r) => a + r.errors + (r.non2xx3xx ?? 0), 0),
    runs
  }
}

/** Busy share of all cores over `ms`, from /proc/stat. */
async function cpuBusy (ms: number): Promise<number> {
  const read = (): number[] => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const a = read()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = read()
  const d = b.map((v, i) => v - a[i]!)
  const total = d.reduce((x, y) => x + y, 0)
  const idle = d[3]! + d[4]! // idle + iowait
  return total > 0 ? 1 - idle / total : 0
}

/**
 * Waits (up to 3 minutes) until the machine is quiet: Cassandra compacts for minutes after a
 * million links are seeded, and anything else running skews every figure. Returns the busy share seen.
 */
async function settle (): Promise<number> {
  const deadline = Date.now() + 180_000
  let busy = await cpuBusy(3000)
  while (busy > 0.25 && Date.now() < deadline) {
    log(`waiting for the machine to settle: ${(busy * 100).toFixed(0)}% busy (Cassandra compactions after seeding, other work)`)
    busy = await cpuBusy(10_000)
  }
  return busy
}

// ------------------------------------------------------------------ data

function readKeys (file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean)
}

/** Seeded links of a keyspace: seeds (load-tests/seed.ts) unless its key file is there and its first key is stored. */
async function dataset (keyspace: string, links: number): Promise<string> {
  const file = join(LOAD, `${keyspace}.keys`)
  if (existsSync(file)) {
    const keys = readKeys(file)
    const client = new cassandra.Client({ contactPoints: ['127.0.0.1:19042'], localDataCenter: 'datacenter1' })
    try {
      const row = (await client.execute(`SELECT state FROM ${keyspace}.links WHERE bucket = ? AND key = ?`, [keys[0]!.slice(0, 3), keys[0]], { prepare: true }).catch(() => null))?.first()
      if (keys.length === links && row?.['state'] === 'active') return file
    } finally {
      await client.shutdown()
    }
  }
  log(`seeding ${links} links into keyspace ${keyspace}`)
  execFileSync(NODE, [join(ROOT, 'load-tests/seed.ts'), '--links', String(links), '--out', file], {
    cwd: ROOT, env: { ...process.env, CASSANDRA_KEYSPACE: keyspace }, stdio: ['ignore', 'inherit', 'inherit']
  })
  return file
}

async function metric (url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name) && /[ {]/.test(line[name.length] ?? '')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

// ------------------------------------------------------------------ the run

/** The import row: 100,000 CSV rows through nginx with the import CLI (load-tests/bench/import-rate.ts). */
async function measureImport (): Promise<ImportFigures> {
  log(`import: ${IMPORT_ROWS.toLocaleString('en-US')} CSV rows through nginx (npm run import)`)
  const figures = await benchImport({ root: ROOT, runDir: RUN, apiUrl: NGINX_URL, rows: IMPORT_ROWS })
  log(`import: ${Math.round(figures.rowsPerSecond).toLocaleString('en-US')} rows/s (${figures.rows} rows in ${figures.seconds.toFixed(1)} s, ` +
    `${figures.created} created, ${figures.failed} failed, ${figures.status})`)
  return figures
}

async function onlyImport (): Promise<void> {
  mkdirSync(REPORTS, { recursive: true })
  log('bringing the stack up for load (nginx limits in dry run, create rate limit raised), services with default settings')
  sh('bash scripts/infra.sh up >/dev/null', LOAD_ENV)
  restart(SERVICES, process.env['SW_IMPORT_SERVICE_ENV'] ?? '')
  const startedAt = new Date()
  const importRun = await measureImport()
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  writeFileSync(join(REPORTS, `bench-import-${stamp}.json`), JSON.stringify({ startedAt, finishedAt: new Date(), importRun }, null, 2))
  process.stdout.write(`import: ${Math.round(importRun.rowsPerSecond)} rows/s\n`)
}

async function main (): Promise<void> {
  if (args.only !== undefined) {
    if (args.only !== 'import') throw new Error(`--only ${args.only}: only "import" can run alone`)
    return await onlyImport()
  }
  mkdirSync(RUN, { recursive: true })
  mkdirSync(REPORTS, { recursive: true })
  const redis = new Redis('redis://127.0.0.1:16379')
  const rk = redisKeys('sw:')
  const pool = createKeyPool(redis, rk)
  const startedAt = new Date()

  log('bringing the stack up for load (nginx limits in dry run, create rate limit raised), services with default settings')
  sh('bash scripts/infra.sh up >/dev/null', LOAD_ENV)
  restart(SERVICES, '')
  const mainKeys = readKeys(await dataset('shortwave', 100_000))
  const small = await dataset('bench_10k', 10_000)
  const large = args.quick ? null : await dataset('bench_1m', 1_000_000)

  await startCeiling()
  await startBare()
  await startEdgeCeiling()
  const idleBusy = await settle()
  // One link, read through every layer once: from then on the in-process cache answers.
  const hot = mainKeys[0]!
  const results: Record<string, Figures[]> = {}
  const add = (name: string, figures: Figures): void => {
    (results[name] ??= []).push(figures)
    log(`  ${name.padEnd(22)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50.toFixed(2)} p95 ${figures.p95.toFixed(2)} p99 ${figures.p99.toFixed(2)} ms  errors ${figures.errors + (figures.non2xx3xx ?? 0)}${figures.cpuUs === undefined ? '' : `  server CPU ${figures.cpuUs.toFixed(1)} µs/req`}`)
  }
  const measure = (name: string, url: string, opts: WrkRun = {}, pids: () => number[] = () => []): void => {
    wrk(url, { ...opts, seconds: WARMUP_S })
    add(name, measured(pids(), () => wrk(url, opts)))
  }
  const measured = (pids: number[], run: () => Figures): Figures => {
    const before = cpuTicks(pids)
    const figures = run()
    if (pids.length > 0) figures.cpuUs = (cpuTicks(pids) - before) * TICK_US / figures.requests
    return figures
  }
  // Which processes serve each measurement (the load generator never counts).
  const ceilingPids = (): number[] => withChildren(children[0]!.pid!)
  const barePids = (): number[] => [children[1]!.pid!]
  const edgeCeilingPids = (): number[] => withChildren(children[2]!.pid!)
  const replicaPid = (): number[] => [stackPid('redirect-service-1')]
  const fullPids = (): number[] => [...withChildren(stackPid('nginx')), stackPid('redirect-service-1'), stackPid('redirect-service-2'), stackPid('redis')]
  const createPids = (): number[] => [...withChildren(stackPid('nginx')), stackPid('create-service'), stackPid('key-worker'), stackPid('redis'), stackPid('cassandra')]

  // 1, 2 and 3 (cache hot), interleaved. Creation comes last: the hundreds of thousands of rows
  // it writes keep Cassandra compacting for minutes, which would tax every measurement after it.
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS}: ceilings, framework floor, redirect-service, full path`)
    measure('nginx-302', `http://127.0.0.1:${CEILING_PORT}/${hot}`, {}, ceilingPids)
    measure('nginx-302-edge', `http://127.0.0.1:${EDGE_CEILING_PORT}/${hot}`, {}, edgeCeilingPids)
    measure('bare-fastify', `http://127.0.0.1:${BARE_PORT}/${hot}`, {}, barePids)
    measure('redirect-service', `http://127.0.0.1:3002/${hot}`, {}, replicaPid)
    measure('full-hot', `${NGINX_URL}/${hot}`, {}, fullPids)
  }

  // 3 with the in-process cache off: Redis hits, then links only Cassandra has.
  restart(REPLICAS, CACHE_OFF)
  const cache = createLinkCache(redis, rk, { ttlSeconds: 86_400, negativeTtlSeconds: 10 })
  const keysEnv = { KEYS_FILE: join(LOAD, 'shortwave.keys'), KEY_ORDER: 'walk' }
  // As create-service's write-through leaves them (and with the URL the seed stored).
  async function warmRedis (keys = mainKeys, linkCache = cache): Promise<void> {
    for (let i = 0; i < keys.length; i += 2000) {
      await Promise.all(keys.slice(i, i + 2000).map((key) => linkCache.set({ key, url: `https://example.com/load/${key}`, expiresAt: null })))
    }
  }
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS}: in-process cache off: Redis hits, Cassandra only`)
    await warmRedis()
    measure('full-redis', NGINX_URL, { script: join(BENCH, 'keys.lua'), env: keysEnv }, fullPids)
    for (let i = 0; i < mainKeys.length; i += 2000) await redis.del(...mainKeys.slice(i, i + 2000).map((key) => rk.link(key)))
    // No warm-up here: it would put the first keys back into Redis. The walk never repeats a key
    // within a run (there are more keys than requests).
    add('full-cassandra', measured([...fullPids(), stackPid('cassandra')], () => wrk(NGINX_URL, { script: join(BENCH, 'keys.lua'), env: keysEnv })))
  }

  // Latency at a fixed rate, Zipf popularity, 10,000 vs 1,000,000 stored links (own keyspaces).
  // Both start from the state create-service's write-through leaves: every link in Redis (a day's
  // TTL); the in-process caches (100,000 entries each) fill as the traffic goes.
  // Their cache entries live 15 minutes and are removed after the phase: a million of them take
  // ~180 MB of the local Redis (maxmemory 512 MB; past it Redis would evict cached links and
  // the figures would measure Cassandra).
  const datasetCache = (keyspace: string) => createLinkCache(redis, redisKeys(`swb:${keyspace}:`), { ttlSeconds: 900, negativeTtlSeconds: 10 })
  for (const [file, keyspace] of [[small, 'bench_10k'], [large, 'bench_1m']] as const) {
    if (file === null) continue
    log(`putting the links of ${keyspace} into Redis`)
    await warmRedis(readKeys(file), datasetCache(keyspace))
  }
  for (let round = 1; round <= ZIPF_ROUNDS; round++) {
    for (const [name, file, keyspace] of [['zipf-10k', small, 'bench_10k'], ['zipf-1m', large, 'bench_1m']] as const) {
      if (file === null) continue
      log(`round ${round}/${ZIPF_ROUNDS}: ${name}: ${ZIPF_RATE} redirects/s for ${ZIPF_SECONDS} s, Zipf over the keyspace ${keyspace}`)
      restart(REPLICAS, `CASSANDRA_KEYSPACE=${keyspace} REDIS_KEY_PREFIX=swb:${keyspace}:`)
      wrk(NGINX_URL, { script: join(BENCH, 'keys.lua'), env: { KEYS_FILE: file, KEY_ORDER: 'zipf' }, seconds: 5 })
      add(name, k6Zipf(file))
    }
  }

  for (const [file, keyspace] of [[small, 'bench_10k'], [large, 'bench_1m']] as const) {
    if (file === null) continue
    const keys = readKeys(file)
    for (let i = 0; i < keys.length; i += 5000) await redis.unlink(...keys.slice(i, i + 5000).map((key) => redisKeys(`swb:${keyspace}:`).link(key)))
  }

  restart(REPLICAS, '')
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS}: creation`)
    measure('create', `${NGINX_URL}/api/v1/links`, { script: join(BENCH, 'create.lua') }, createPids)
  }

  // Creation sustained for a minute: the pool must never run dry.
  log(`creation sustained for ${CREATE_SUSTAINED_S} s`)
  let poolMin = Infinity
  const sampling = { on: true }
  const poll = (async () => {
    while (sampling.on) {
      poolMin = Math.min(poolMin, await pool.depth(CLAIM_BATCH_SIZE))
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  const bypassBefore = await metric('http://127.0.0.1:3001', 'shortwave_key_bypass_total')
  add('create-sustained', measured(createPids(), () => wrk(`${NGINX_URL}/api/v1/links`, { script: join(BENCH, 'create.lua'), seconds: CREATE_SUSTAINED_S })))
  sampling.on = false
  await poll
  const bypassed = await metric('http://127.0.0.1:3001', 'shortwave_key_bypass_total') - bypassBefore
  const importRun = await measureImport()

  // Click counting under the redirect load (k6: exact request counts). The links are in Redis,
  // as create-service's write-through leaves them (the Cassandra phase above removed them).
  await warmRedis()
  log(`click counting: npm run load -- redirect --rate ${CLICK_RATE} --duration ${CLICK_SECONDS}s`)
  const before = new Set(readdirSync(REPORTS))
  try {
    sh(`node load-tests/run.ts redirect --rate ${CLICK_RATE} --duration ${CLICK_SECONDS}s >&2`)
  } catch {
    log('npm run load -- redirect failed (a threshold crossed, or the run itself; see above); what it measured is reported')
  }
  const newReports = readdirSync(REPORTS).filter((f) => !before.has(f)).sort()
  const clicksFile = newReports.find((f) => f.endsWith('.clicks.json'))
  const summaryFile = newReports.find((f) => f.startsWith('redirect-') && !f.endsWith('.clicks.json'))
  const clicks = clicksFile ? JSON.parse(readFileSync(join(REPORTS, clicksFile), 'utf8')) : null
  const redirectRun = summaryFile ? JSON.parse(readFileSync(join(REPORTS, summaryFile), 'utf8')).metrics : null

  const versions = {
    node: execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim(),
    fastify: JSON.parse(readFileSync(join(ROOT, 'node_modules/fastify/package.json'), 'utf8')).version,
    nginx: execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() || sh('nginx -v 2>&1').trim(),
    redis: sh('redis-server --version').trim().split(' ')[2]?.replace('v=', ''),
    cassandra: '5.0.8',
    wrk: sh('wrk -v 2>&1 | head -1').trim(),
    k6: sh(`${K6} version | head -1`).trim()
  }
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release() }
  const summary = Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, summarise(runs)]))
  const raw = { startedAt, finishedAt: new Date(), busyBefore: idleBusy, rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, threads: THREADS, machine, versions, summary, create: { poolMin, bypassed }, importRun, clicks, redirectRun }
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  writeFileSync(join(REPORTS, `bench-${stamp}.json`), JSON.stringify(raw, null, 2))
  // A quick run checks the script, not the machine: it never replaces the published figures.
  if (!args.quick) writeReport(raw)
  log(`done: ${args.quick ? '' : 'docs/benchmarks.md, '}reports/bench-${stamp}.json`)
  redis.disconnect()
}

// ------------------------------------------------------------------ the report

interface ClickReport {
  k6: { gets302: number, heads302: number, tracerGets302: number }
  services: Record<string, number>
  tracerClicks: number
  settledAfterS: number
  ok: Record<string, boolean>
}

interface Raw {
  startedAt: Date
  finishedAt: Date
  busyBefore: number
  rounds: number
  seconds: number
  connections: number
  threads: number
  machine: Record<string, unknown>
  versions: Record<string, unknown>
  summary: Record<string, Figures>
  create: { poolMin: number, bypassed: number }
  importRun: ImportFigures
  clicks: ClickReport | null
  redirectRun: Record<string, Record<string, number>> | null
}

function writeReport (raw: Raw): void {
  const s = raw.summary
  const f = (n: number | undefined, digits = 2): string => n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits)
  const rate = (name: string): string => s[name] ? Math.round(s[name]!.rps).toLocaleString('en-US') : '–'
  const row = (label: string, name: string, how: string): string => {
    const x = s[name]
    return x ? `| ${label} | ${rate(name)} | ${f(x.p50)} | ${f(x.p95)} | ${f(x.p99)} | ${f(x.cpuUs, 1)} | ${x.errors} | ${how} |` : `| ${label} | not measured | | | | | | ${how} |`
  }
  const ratio = (a: string, b: string): string => s[a] && s[b] ? (s[a]!.rps / s[b]!.rps).toFixed(2) : '–'
  const c = raw.clicks
  const rr = raw.redirectRun
  const rd = rr?.['http_req_duration{scenario:redirects}']
  const p99Ratio = s['zipf-1m'] && s['zipf-10k'] ? s['zipf-1m']!.p99 / s['zipf-10k']!.p99 : NaN
  const lines = [
    '<!-- bench:begin (written by npm run bench; edit the text outside these markers) -->',
    `Run of ${raw.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${raw.rounds} interleaved rounds of ${raw.seconds} s per measurement (after ${WARMUP_S} s of warm-up), medians of the rounds; ` +
      `wrk with ${raw.threads} threads and ${raw.connections} connections unless said otherwise.`,
    '',
    `**Machine:** ${raw.machine['cpu']}, ${raw.machine['cores']} cores shared by everything (the load generator, nginx, the services, Redis and Cassandra), ` +
      `${raw.machine['memoryGiB']} GiB, Linux ${raw.machine['kernel']}; ${(raw.busyBefore * 100).toFixed(0)}% busy before the first measurement.  `,
    `**Versions:** Node ${raw.versions['node']}, Fastify ${raw.versions['fastify']}, ${raw.versions['nginx']}, Redis ${raw.versions['redis']}, Cassandra ${raw.versions['cassandra']}, ${raw.versions['wrk']}, ${raw.versions['k6']}.  `,
    '**Command:** `npm run bench` (`node load-tests/bench/bench.ts`).',
    '',
    '| what | req/s | p50 ms | p95 ms | p99 ms | server CPU µs/req | errors | how |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    row('1. nginx `return 302`, bare (ceiling)', 'nginx-302', 'own nginx, same worker count, no log, no limits, `load-tests/bench/nginx-302.conf`'),
    row('1. nginx `return 302`, the stack\'s config (ceiling)', 'nginx-302-edge', 'the stack\'s nginx config with `return 302` in place of `proxy_pass` for `/{key}`'),
    row('2. bare Fastify 302 (framework floor)', 'bare-fastify', '`load-tests/bench/bare-fastify.ts`, same Node'),
    row('2. redirect-service alone, cache hot', 'redirect-service', 'one replica, port 3002, one key'),
    row('3. full path through nginx, cache hot', 'full-hot', 'nginx → 2 replicas, one key, clicks recorded'),
    row('3. full path, in-process cache off (Redis hit)', 'full-redis', '`LOCAL_CACHE_TTL_MS=0`, 100,000 keys all in Redis'),
    row('3. full path, only Cassandra has the link', 'full-cassandra', 'cache off, Redis entries deleted, every request a new key'),
    row('4. creation through nginx', 'create', 'POST /api/v1/links, generated keys'),
    row(`4. creation sustained ${CREATE_SUSTAINED_S} s`, 'create-sustained', `pool minimum ${raw.create.poolMin}, bypasses ${raw.create.bypassed}`),
    `| 5. import of ${raw.importRun.rows.toLocaleString('en-US')} CSV rows through nginx | ${Math.round(raw.importRun.rowsPerSecond).toLocaleString('en-US')} rows/s | | | | | ${raw.importRun.failed} | ` +
      `\`npm run import\`: ${(raw.importRun.bytes / 2 ** 20).toFixed(1)} MiB uploaded, job ${raw.importRun.status} after ${raw.importRun.seconds.toFixed(1)} s, generated keys |`,
    '',
    `**Ratios:** 2/1 (redirect-service / bare nginx) = ${ratio('redirect-service', 'nginx-302')}; 3/1 (full path hot / bare nginx) = ${ratio('full-hot', 'nginx-302')}; ` +
      `3/1 against the stack's own config answering itself = ${ratio('full-hot', 'nginx-302-edge')}; ` +
      `2/bare Fastify = ${ratio('redirect-service', 'bare-fastify')}; creation sustained: ${rate('create-sustained')} links/s.`,
    '',
    `**Stored links, 10,000 vs 1,000,000** (k6 at a constant ${ZIPF_RATE} redirects/s for ${ZIPF_SECONDS} s through nginx, ${ZIPF_ROUNDS} interleaved rounds, medians, Zipf popularity over the whole set, default caches, each dataset in its own keyspace):`,
    '',
    '| stored links | p50 ms | p95 ms | p99 ms | errors |',
    '| ---: | ---: | ---: | ---: | ---: |',
    s['zipf-10k'] ? `| 10,000 | ${f(s['zipf-10k']!.p50)} | ${f(s['zipf-10k']!.p95)} | ${f(s['zipf-10k']!.p99)} | ${s['zipf-10k']!.errors} |` : '| 10,000 | not measured | | | |',
    s['zipf-1m'] ? `| 1,000,000 | ${f(s['zipf-1m']!.p50)} | ${f(s['zipf-1m']!.p95)} | ${f(s['zipf-1m']!.p99)} | ${s['zipf-1m']!.errors} |` : '| 1,000,000 | not measured (--quick) | | | |',
    '',
    `p99 with 1,000,000 / p99 with 10,000 = ${f(p99Ratio)}.`,
    '',
    c
      ? `**Click counting** (\`npm run load -- redirect --rate ${CLICK_RATE} --duration ${CLICK_SECONDS}s\`, 2% HEAD): k6 got ${c.k6.gets302} GET and ${c.k6.heads302} HEAD redirects; ` +
        `the replicas recorded ${c.services['recorded']} clicks, flushed ${c.services['flushed']}, dropped ${c.services['dropped']}; the key-worker folded ${c.services['folded']}; ` +
        `the ${c.k6.tracerGets302} GETs of the tracer links show up as ${c.tracerClicks} clicks in their counters; all of it settled ${f(c.settledAfterS, 1)} s after the run. ` +
        (Object.values(c.ok).every(Boolean) ? 'Every GET counted exactly once, no HEAD counted.' : `NOT OK: ${Object.entries(c.ok).filter(([, ok]) => !ok).map(([k]) => k).join(', ')}.`) +
        (rd ? ` Redirect latency during that run: p50 ${f(rd['med'])} ms, p95 ${f(rd['p(95)'])} ms, p99 ${f(rd['p(99)'])} ms.` : '')
      : '**Click counting:** not measured (the redirect scenario did not produce a click report).',
    '<!-- bench:end -->'
  ]
  const docFile = join(ROOT, 'docs/benchmarks.md')
  const block = lines.join('\n')
  let doc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n'
  doc = doc.replace(/<!-- bench:begin[\s\S]*?<!-- bench:end -->/, block)
  mkdirSync(join(ROOT, 'docs'), { recursive: true })
  writeFileSync(docFile, doc)
}

// Ctrl-C or a kill must not leave the ceiling nginx or the bare Fastify behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopChildren()
    process.exit(130)
  })
}
try {
  await main()
} finally {
  stopChildren()
}
