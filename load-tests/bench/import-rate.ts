// The import row of the bench: a 100,000-row CSV (url, title, tags, expiresAt; generated keys from
// the pool) imported through nginx with the import CLI (streamed upload, then the job polled), timed
// from the first byte sent to the job's end. Run by `npm run bench` after creation, or alone with
// `npm run bench -- --only import` (brings the stack up for load first).
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import cassandra from 'cassandra-driver'
import { createApiKeyRepository } from '../../create-service/src/api-keys.ts'

export interface ImportFigures {
  rows: number
  bytes: number
  seconds: number
  rowsPerSecond: number
  created: number
  skipped: number
  failed: number
  status: string
}

/** The CSV: every row a new URL (a second run is new rows too), expiring in an hour like the creation bench's links. */
function writeCsv (file: string, rows: number): number {
  const run = Date.now().toString(36)
  const expires = new Date(Date.now() + 3_600_000).toISOString()
  const lines = ['url,title,tags,expiresAt']
  for (let i = 0; i < rows; i++) {
    lines.push(`https://example.com/bench/${run}/${i}?utm_source=import,Bench row ${i},bench|import,${expires}`)
  }
  const text = lines.join('\n') + '\n'
  writeFileSync(file, text)
  return Buffer.byteLength(text)
}

export interface ImportBenchOptions {
  root: string
  runDir: string
  apiUrl: string
  rows: number
}

export async function benchImport (opts: ImportBenchOptions): Promise<ImportFigures> {
  mkdirSync(opts.runDir, { recursive: true })
  const file = join(opts.runDir, `import-${opts.rows}.csv`)
  const bytes = writeCsv(file, opts.rows)
  const client = new cassandra.Client({ contactPoints: ['127.0.0.1:19042'], localDataCenter: 'datacenter1', keyspace: 'shortwave' })
  let secret: string
  try {
    ;({ secret } = await createApiKeyRepository(client).create(`bench-import-${Date.now()}`, 'admin', null))
  } finally {
    await client.shutdown()
  }
  const started = process.hrtime.bigint()
  // The CLI reports on stderr (its progress and summary), like the other tools.
  const argv = ['create-service/src/cli/import.ts', file, '--api', opts.apiUrl, '--key', secret]
  const run = spawnSync(join(opts.root, 'node_modules/.bin/node'), argv, { cwd: opts.root, encoding: 'utf8' })
  const output = `${run.stdout}${run.stderr}`
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  // "completed: 100000 created, 0 skipped, 0 failed of 100000 rows in …"
  const summary = /(\w+): (\d+) created, (\d+) skipped, (\d+) failed of (\d+) rows/.exec(output)
  if (summary === null) throw new Error(`the import CLI did not finish: ${output.slice(-500)}`)
  const [, status, created, skipped, failed] = summary
  const counts = { created: Number(created), skipped: Number(skipped), failed: Number(failed) }
  return { rows: opts.rows, bytes, seconds, rowsPerSecond: opts.rows / seconds, ...counts, status: status! }
}
