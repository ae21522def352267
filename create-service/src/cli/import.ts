// Imports a file of links through the API: `npm run import -- FILE [--format csv|ndjson|bitly|yourls|kutt|shlink]
// [--api URL] [--key KEY]`. The file is streamed to POST /api/v1/links/import (through nginx by
// default), then the job is polled until it ends: a progress bar on a terminal, a line every few
// seconds otherwise, a summary and the first errors at the end. Exit status: 0 when every row was
// created or skipped, 1 when rows failed or the job was interrupted, 2 for a usage or HTTP error.
import { createReadStream, statSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const USAGE = `usage: npm run import -- FILE [--format csv|ndjson|bitly|yourls|kutt|shlink] [--api URL] [--key KEY]
  FILE       a CSV file (.csv) or NDJSON (.ndjson, .jsonl): Shortwave's export, or Bitly's, YOURLS's, Kutt's, Shlink's
  --format   the file's layout; told from its header row when left out
  --api      where Shortwave answers (default: $SW_API_URL or http://localhost:8080)
  --key      an API key (default: $SW_API_KEY); imported links belong to it`

export const EXIT = { ok: 0, failedRows: 1, error: 2 } as const

interface Job {
  id: string
  status: string
  total: number
  done: number
  created: number
  skipped: number
  failed: number
}

interface RowError { line: number, field: string, message: string }

class CliError extends Error {}

const NDJSON_EXTENSIONS = /\.(ndjson|jsonl)$/i
/** How long polls may fail in a row before the CLI gives up (the job itself goes on). */
const POLL_PATIENCE_MS = 60_000

async function send (method: string, url: URL, headers: Record<string, string | number>, body?: NodeJS.ReadableStream) {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<{ status: number, json: unknown }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res: IncomingMessage) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        let json: unknown = null
        try { json = JSON.parse(text) } catch { json = { message: text.slice(0, 200) } }
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on('error', reject)
    if (body === undefined) req.end()
    else body.pipe(req)
  })
}

function fail (what: string, response: { status: number, json: unknown }): never {
  const message = (response.json as { message?: string } | null)?.message ?? ''
  throw new CliError(`${what}: HTTP ${response.status}${message ? ` — ${message}` : ''}`)
}

function bar (job: Job, startedAt: number): string {
  const width = 30
  const share = job.total === 0 ? 1 : job.done / job.total
  const filled = Math.round(share * width)
  const rate = job.done / Math.max((Date.now() - startedAt) / 1000, 0.001)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(share * 100)}% ${job.done}/${job.total}` +
    ` created ${job.created} skipped ${job.skipped} failed ${job.failed} · ${Math.round(rate)} rows/s`
}

export async function main (argv: string[], out: NodeJS.WriteStream = process.stderr): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { format: { type: 'string' }, api: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean' } }
  })
  if (values.help || positionals.length !== 1) throw new CliError(USAGE)
  const file = positionals[0]!
  const api = new URL(values.api ?? process.env['SW_API_URL'] ?? 'http://localhost:8080')
  const key = values.key ?? process.env['SW_API_KEY']
  if (!key) throw new CliError(`an API key is needed: --key KEY or SW_API_KEY\n${USAGE}`)
  const size = statSync(file).size
  const type = NDJSON_EXTENSIONS.test(file) || values.format === 'ndjson' || values.format === 'kutt' ? 'application/x-ndjson' : 'text/csv'
  const auth = { authorization: `Bearer ${key}` }
  const query = values.format === undefined ? '' : `?format=${encodeURIComponent(values.format)}`

  const startedAt = Date.now()
  const uploaded = await send('POST', new URL(`/api/v1/links/import${query}`, api), { ...auth, 'content-type': type, 'content-length': size }, createReadStream(file))
  if (uploaded.status !== 202) fail('the import was refused', uploaded)
  let job = uploaded.json as Job
  out.write(`import ${job.id}: ${job.total} rows\n`)

  const tty = out.isTTY === true
  let lastLine = 0
  let lastSeen = Date.now()
  while (job.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const polled = await send('GET', new URL(`/api/v1/imports/${job.id}`, api), auth).catch((error: Error) => ({ status: 0, json: { message: error.message } }))
    // The job goes on whatever a poll gets: a busy store (503) or a dropped connection is waited out.
    if (polled.status === 0 || polled.status >= 500) {
      if (Date.now() - lastSeen > POLL_PATIENCE_MS) fail('could not read the import', polled)
      continue
    }
    if (polled.status !== 200) fail('could not read the import', polled)
    lastSeen = Date.now()
    job = polled.json as Job
    if (tty) out.write(`\r${bar(job, startedAt)}`)
    else if (Date.now() - lastLine >= 5000) {
      lastLine = Date.now()
      out.write(`${bar(job, startedAt)}\n`)
    }
  }
  const seconds = (Date.now() - startedAt) / 1000
  if (tty) out.write(`\r${bar(job, startedAt)}\n`)
  out.write(`${job.status}: ${job.created} created, ${job.skipped} skipped, ${job.failed} failed of ${job.total} rows ` +
    `in ${seconds.toFixed(1)} s (${Math.round(job.done / Math.max(seconds, 0.001))} rows/s)\n`)
  if (job.failed > 0) {
    const listed = await send('GET', new URL(`/api/v1/imports/${job.id}/errors?limit=10`, api), auth)
    if (listed.status === 200) {
      const { errors } = listed.json as { errors: RowError[] }
      out.write(`first errors (all: GET /api/v1/imports/${job.id}/errors):\n`)
      for (const e of errors) out.write(`  line ${e.line}, ${e.field}: ${e.message}\n`)
    }
  }
  if (job.status !== 'completed') out.write('the import did not finish; run it again to finish it (rows already imported are skipped)\n')
  return job.status === 'completed' && job.failed === 0 ? EXIT.ok : EXIT.failedRows
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (error: Error) => {
    process.stderr.write(`${error instanceof CliError ? error.message : `import failed: ${error.message}`}\n`)
    process.exitCode = EXIT.error
  })
}
