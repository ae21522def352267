// Part of npm run test:faults: schemathesis (PyPI) generates requests from the API's own OpenAPI
// document (/api/docs/json) and sends them through nginx to the real services: no answer may be a
// 5xx, and every answer must match the document (status, headers, body schema). The run's report:
// reports/schemathesis/.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runApiKeyCommand } from '../../create-service/src/cli/apikey.ts'
import { freePort } from '../nginx/edge.ts'
import { writeReport } from './harness/phases.ts'
import { cassandraNodes, redisServer, ROOT } from './harness/processes.ts'
import { cassandraConfig, freshKeyspace, startProcessStack, type ProcessStack } from './harness/stack.ts'

const KEYSPACE = 'f_fuzz'
const LOG_DIR = join(ROOT, '.run', 'faults', 'fuzz-logs')
const REPORT_DIR = join(ROOT, 'reports', 'schemathesis')
// Enough to cover every operation in every phase; SW_FUZZ_EXAMPLES raises it for a longer hunt.
const MAX_EXAMPLES = process.env['SW_FUZZ_EXAMPLES'] ?? '30'

const nodes = cassandraNodes('faults')
let redis: ReturnType<typeof redisServer>
let stack: ProcessStack
let secret: string

async function run (
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT
): Promise<{ code: number | null, output: string }> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, output }
}

beforeAll(async () => {
  const installed = await run(process.execPath, [join(ROOT, 'scripts', 'tools.ts'), 'schemathesis'])
  if (installed.code !== 0) throw new Error(`could not install schemathesis:\n${installed.output}`)
  await nodes.up()
  const contactPoints = await nodes.contactPoints()
  const db = await freshKeyspace(contactPoints, KEYSPACE, 'SimpleStrategy:1')
  await db.shutdown()
  redis = redisServer(await freePort(), LOG_DIR)
  await redis.start()
  stack = await startProcessStack({ contactPoints, keyspace: KEYSPACE, replication: 'SimpleStrategy:1', redisUrl: redis.url, logDir: LOG_DIR, createReplicas: 1, redirectReplicas: 1 })
  const config = cassandraConfig(contactPoints, KEYSPACE)
  let out = ''
  const code = await runApiKeyCommand(['create', '--name', 'fuzzer', '--role', 'admin', '--json'], { ...config, CASSANDRA_TIMEOUT_MS: String(config.CASSANDRA_TIMEOUT_MS) }, { out: (text) => { out += text }, err: () => {} })
  if (code !== 0) throw new Error('could not create the fuzzer\'s API key')
  secret = (JSON.parse(out) as { secret: string }).secret
}, 600_000)

afterAll(async () => {
  await stack?.close()
  await redis?.crash()
}, 120_000)

describe('the API against its own OpenAPI document (schemathesis)', () => {
  it('never answers 5xx, and every answer matches the document', async () => {
    const bin = join(ROOT, '.cache', 'schemathesis-venv', 'bin', 'schemathesis')
    // Run from the (git-ignored) report folder: schemathesis keeps its crash store (.schemathesis/) in
    // the working directory.
    mkdirSync(REPORT_DIR, { recursive: true })
    const { code, output } = await run(bin, [
      '--config-file', join(ROOT, 'tests', 'faults', 'schemathesis.toml'),
      'run', `${stack.edge.url}/api/docs/json`,
      '--url', stack.edge.url,
      '--max-examples', MAX_EXAMPLES,
      '--seed', '20261122',
      // No example database kept between runs: every run starts from the seed alone.
      '--generation-database', 'none',
      // One worker: Hypothesis' caches are not thread-safe (two workers crashed it once with a KeyError).
      '--workers', '1',
      '--request-timeout', '15',
      '--header', `Authorization: Bearer ${secret}`,
      '--report', 'junit,ndjson',
      '--report-dir', REPORT_DIR,
      '--no-color'
    ], { SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: join(ROOT, 'tests', 'faults'), PYTHONDONTWRITEBYTECODE: '1' }, REPORT_DIR)
    writeFileSync(join(REPORT_DIR, 'output.txt'), output)
    // Its own summary only: schemathesis closes with pytest's '== N warnings in Xs ==' line, which
    // CI would read as the closing line of a run of no tests.
    const summary = output.split('\n')
      .filter((line) => /passed|failed|errored|skipped|Test cases|API Operations|Seed/i.test(line) && !/^=+ /.test(line))
      .slice(-12)
    console.log(`${summary.join('\n')}\nfull output: ${join(REPORT_DIR, 'output.txt')}`)
    if (code !== 0) console.log(output.split('\n').slice(-60).join('\n'))
    writeReport('fuzz', { suite: 'schemathesis', finishedAt: new Date().toISOString(), exitCode: code, maxExamples: Number(MAX_EXAMPLES), summary, reportDir: REPORT_DIR })
    expect(code).toBe(0)
  }, 900_000)
})
