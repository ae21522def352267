// The expensive reliability suites, each on Cassandra nodes of its own (scripts/cluster.sh), never
// on the local stack of `npm start`, which keeps running undisturbed:
//
//   node scripts/faults.ts faults    npm run test:faults    one node; Redis, Cassandra and every
//                                                           service killed, paused and stopped under
//                                                           load, then schemathesis on the OpenAPI
//                                                           document -> reports/faults.json, fuzz.json
//   node scripts/faults.ts cluster   npm run test:cluster   three nodes, RF 3, LOCAL_QUORUM; one node
//                                                           killed under load and brought back
//                                                           -> reports/cluster.json
//
// Either way the figures of the run, passed or failed, are then written into docs/reliability.md
// between its markers (tests/faults/write-reliability-doc.ts), so the page always shows the last run.
// The npm scripts install what is missing first (scripts/ensure-tools.sh). Nodes this run had to
// start are stopped again at the end, with whatever a failed suite left in their process-compose
// server; running ones are reused and left running. SW_KEEP_NODES=1 keeps the started ones too (a
// second run then skips their start-up).
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { foreground, log, ROOT } from './tools.ts'

const suite = process.argv[2] ?? 'faults'
if (suite !== 'faults' && suite !== 'cluster') {
  log('test', 'usage: node scripts/faults.ts faults|cluster')
  process.exit(2)
}
const tag = `test:${suite}`
const cluster = [join(ROOT, 'scripts/cluster.sh'), '--profile', suite]

const exec = (cmd: string, args: string[], quiet = false): Promise<number> => foreground(cmd, args, {}, quiet)

const started = await exec('bash', [...cluster, 'status'], true) !== 0
let ending = false
async function end (rc: number): Promise<never> {
  ending = true
  if (started && process.env['SW_KEEP_NODES'] === undefined) await exec('bash', [...cluster, 'down'])
  process.exit(rc)
}
for (const [signal, rc] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => { if (!ending) end(rc).catch(() => process.exit(rc)) })
}

if (await exec('bash', [...cluster, 'up']) !== 0) await end(1)
const t0 = performance.now()
// A report left by an earlier run must not be shown as this run's figures.
for (const report of suite === 'faults' ? ['faults.json', 'fuzz.json'] : ['cluster.json']) {
  rmSync(join(ROOT, 'reports', report), { force: true })
}
let rc = await exec('npx', ['--no', 'vitest', 'run', '--project', suite])
if (await exec('node', [join(ROOT, 'tests/faults/write-reliability-doc.ts'), suite]) !== 0 && rc === 0) rc = 1
const took = `${((performance.now() - t0) / 1000).toFixed(1)}s`
log(tag, `${rc === 0 ? 'passed' : `FAILED (exit ${rc})`} in ${took}; figures in reports/${suite}.json and docs/reliability.md`)
await end(rc)
