// The creation path of two commits side by side, interleaved in one run on this machine:
//
//   node load-tests/bench/ab-create.ts --base <git ref> [--rounds 6] [--seconds 10]
//
// Each commit gets a key-worker and a create-service of its own (its own checkout under
// .run/ab/, its own Redis prefix, one shared keyspace migrated by this checkout), both running
// the whole time; the rounds alternate which one wrk drives (POST /api/v1/links, generated keys,
// 50 connections), first one then the other, so drift of the machine falls on both alike. It
// prints each round and the medians, and writes reports/ab-create-<time>.json. Run it on the
// local Cassandra and Redis (`npm run infra -- up cassandra redis`); nothing else should load the
// machine meanwhile.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { median, runWrk, type Figures } from './wrk.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const RUN = join(ROOT, '.run/ab')
const NODE = process.execPath
const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '10' }
  }
})
if (!args.base) throw new Error('usage: node load-tests/bench/ab-create.ts --base <git ref> [--rounds N] [--seconds N]')
const ROUNDS = Number(args.rounds)
const SECONDS = Number(args.seconds)
const KEYSPACE = 'shortwave_ab'

const log = (line: string): void => { process.stderr.write(`[ab-create] ${line}\n`) }
const git = (...a: string[]): string => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim()

interface Side {
  name: string
  commit: string
  tree: string
  createPort: number
  workerPort: number
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

function envOf (side: Side, service: 'create' | 'worker'): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(service === 'create' ? side.createPort : side.workerPort),
    CASSANDRA_KEYSPACE: KEYSPACE,
    REDIS_KEY_PREFIX: `ab-${side.name}:`,
    WORKER_ID: `ab-${side.name}`,
    LOG_LEVEL: 'warn',
    // Unlimited creation: the benchmark measures the path, not the budget (both names, old and new).
    RATE_LIMIT_MAX: '1000000',
    ANONYMOUS_RATE_LIMIT: '1000000/min',
    DEFAULT_KEY_RATE_LIMIT: '1000000/min'
  }
}

function start (side: Side, service: 'create' | 'worker'): ChildProcess {
  const script = service === 'create' ? 'create-service/src/server.ts' : 'key-worker/src/server.ts'
  const out = openSync(join(RUN, `${side.name}-${service}.log`), 'w')
  return spawn(NODE, [script], { cwd: side.tree, env: envOf(side, service), stdio: ['ignore', out, out] })
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

async function main (): Promise<void> {
  mkdirSync(RUN, { recursive: true })
  const sides: Side[] = [
    { name: 'base', commit: git('rev-parse', '--short', args.base!), tree: checkout(args.base!), createPort: 3211, workerPort: 3212 },
    { name: 'head', commit: git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain').length > 0 ? '+changes' : ''), tree: ROOT, createPort: 3213, workerPort: 3214 }
  ]
  log(`migrating keyspace ${KEYSPACE}`)
  execFileSync(NODE, ['common/src/cassandra/migrate-cli.ts'], { cwd: ROOT, env: { ...process.env, CASSANDRA_KEYSPACE: KEYSPACE }, stdio: 'inherit' })

  const processes = sides.flatMap((side) => [start(side, 'worker'), start(side, 'create')])
  const results: Record<string, Figures[]> = { base: [], head: [] }
  try {
    for (const side of sides) await Promise.all([ready(side.workerPort), ready(side.createPort)])
    const wrk = (side: Side, seconds: number): Figures => runWrk(`http://127.0.0.1:${side.createPort}/api/v1/links`, {
      script: join(import.meta.dirname, 'create.lua'), seconds, connections: 50, threads: 2, workDir: RUN
    })
    for (const side of sides) wrk(side, 3)
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        // The pool refilled after the last round, so neither side pays for the other's refill.
        await ready(side.workerPort)
        const figures = wrk(side, SECONDS)
        results[side.name]!.push(figures)
        log(`round ${round + 1} ${side.name.padEnd(4)} ${side.commit.padEnd(16)} ${figures.rps.toFixed(0).padStart(6)} creates/s  p50 ${figures.p50.toFixed(1)} p99 ${figures.p99.toFixed(1)} ms  errors ${figures.errors + (figures.non2xx3xx ?? 0)}`)
      }
    }
  } finally {
    for (const p of processes) p.kill('SIGTERM')
  }
  const summary = Object.fromEntries(sides.map((side) => {
    const runs = results[side.name]!
    return [side.name, {
      commit: side.commit,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((a, r) => a + r.errors + (r.non2xx3xx ?? 0), 0)
    }]
  }))
  const file = join(ROOT, 'reports', `ab-create-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(ROOT, 'reports'), { recursive: true })
  writeFileSync(file, JSON.stringify({ rounds: ROUNDS, seconds: SECONDS, summary, results }, null, 2))
  console.log(`\n| commit | creates/s (median of ${ROUNDS}) | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- |`)
  for (const s of Object.values(summary)) console.log(`| ${s.commit} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.errors} |`)
  console.log(`\nhead / base = ${(summary['head']!.rps / summary['base']!.rps).toFixed(2)}; raw figures in ${file}`)
}

await main()
