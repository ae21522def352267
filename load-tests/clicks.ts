// Click counting under load: every GET that got a 302 is counted exactly once, a HEAD never.
//
//   node load-tests/clicks.ts prepare --out FILE [--count 100]
//       creates tracer links through the API and snapshots the click metrics of the services
//   node load-tests/clicks.ts verify --tracers FILE --summary K6_SUMMARY.json [--out FILE]
//       after the k6 run: waits (up to --deadline-s, 30 by default) until
//         - the redirect replicas recorded exactly as many clicks as k6 got 302s for GETs
//           (k6's redirect_gets_302; HEADs are counted apart and must add nothing),
//         - they flushed all of them to Redis, dropping none,
//         - the key-worker folded all of them into Cassandra,
//         - each tracer link's clicks and bot clicks (GET …/stats) add up to tracer_gets_302,
//         - for every `by` of GET …/stats, each tracer link's rows add up to its clicks, all under
//           the one value its visitor (lib/visitors.json) has in that dimension, and the link had
//           one unique visitor (its visitor's clicks went to both replicas); a bot's link has
//           bot clicks only, and no dimension,
//       and says how long after the run that took;
//     - no log of the stack (nginx's access log, every service's) holds an address or a user agent
//       the tracers' visitors sent (no personal data at rest; --logs, .run by default).
//   Exit 1 when any of it does not hold.
// Assumes nothing else sends redirects to the stack during the run.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CLICK_DIMENSIONS } from '../common/src/stats-dimensions.ts'
import { createClickDimensions, type ClickDimensions } from '../redirect-service/src/analytics/click-dimensions.ts'
import { bundledCountryDatabase, openCountryLookup } from '../redirect-service/src/analytics/country-lookup.ts'
import { createUserAgentParser } from '../redirect-service/src/analytics/user-agent-dimensions.ts'

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    'base-url': { type: 'string', default: 'http://localhost:8080' },
    out: { type: 'string' },
    count: { type: 'string', default: '100' },
    tracers: { type: 'string' },
    summary: { type: 'string' },
    'deadline-s': { type: 'string', default: '30' },
    // Where the services' own /metrics are (never exposed through nginx).
    redirect: { type: 'string', default: 'http://127.0.0.1:3002,http://127.0.0.1:3003' },
    worker: { type: 'string', default: 'http://127.0.0.1:3004' },
    logs: { type: 'string', default: new URL('../.run', import.meta.url).pathname }
  }
})
const baseUrl = args['base-url']!.replace(/\/$/, '')

interface Counters {
  recorded: number
  flushed: number
  dropped: number
  folded: number
}

/** Sum of every sample of a metric in Prometheus text (all label sets). */
function sample (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function metrics (url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`)
  if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`)
  return res.text()
}

async function counters (): Promise<Counters> {
  const replicas = await Promise.all(args.redirect!.split(',').map(metrics))
  const worker = await metrics(args.worker!)
  const sum = (name: string): number => replicas.reduce((total, text) => total + sample(text, name), 0)
  return {
    recorded: sum('shortwave_clicks_recorded_total'),
    flushed: sum('shortwave_clicks_flushed_total'),
    dropped: sum('shortwave_clicks_dropped_total'),
    folded: sample(worker, 'shortwave_clicks_folded_total')
  }
}

/** Every GET of the link counted: by people, and by bots (one tracer visitor in six is a bot). */
async function clicksOf (key: string): Promise<number> {
  const stats = await statsOf(key, 'day')
  return stats.clicks + stats.botClicks
}

async function prepare (): Promise<void> {
  const count = Number(args.count)
  const keys: string[] = []
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, count - i) }, async () => {
      const res = await fetch(`${baseUrl}/api/v1/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `https://example.com/tracer/${Date.now()}-${Math.random().toString(36).slice(2)}` })
      })
      if (res.status !== 201) throw new Error(`creating a tracer link answered ${res.status}: ${await res.text()}`)
      return (await res.json() as { key: string }).key
    }))
    keys.push(...batch)
  }
  writeFileSync(args.out!, JSON.stringify({ keys, before: await counters() }))
  console.log(`created ${keys.length} tracer links; click counters snapshotted`)
}

type K6Summary = { metrics: Record<string, { count?: number, values?: { count?: number } }> }

function k6Count (summary: K6Summary, name: string): number {
  const metric = summary.metrics[name]
  return metric?.count ?? metric?.values?.count ?? 0
}

async function verify (): Promise<void> {
  const tracers = JSON.parse(readFileSync(args.tracers!, 'utf8')) as { keys: string[], before: Counters }
  const summary = JSON.parse(readFileSync(args.summary!, 'utf8'))
  const gets = k6Count(summary, 'redirect_gets_302')
  const heads = k6Count(summary, 'redirect_heads_302')
  const tracerGets = k6Count(summary, 'tracer_gets_302')
  const started = Date.now()
  const deadline = started + Number(args['deadline-s']) * 1000
  let now: Counters
  let tracerClicks = 0
  let delta: Counters
  while (true) {
    now = await counters()
    delta = {
      recorded: now.recorded - tracers.before.recorded,
      flushed: now.flushed - tracers.before.flushed,
      dropped: now.dropped - tracers.before.dropped,
      folded: now.folded - tracers.before.folded
    }
    if (delta.folded >= gets && delta.flushed >= gets) {
      tracerClicks = (await Promise.all(tracers.keys.map(clicksOf))).reduce((a, b) => a + b, 0)
      if (tracerClicks >= tracerGets || Date.now() > deadline) break
    }
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const dimensions = await verifyDimensions(tracers.keys, deadline)
  const leaks = personalDataInLogs()
  const settledAfterS = (Date.now() - started) / 1000
  const result = {
    k6: { gets302: gets, heads302: heads, tracerGets302: tracerGets },
    services: delta,
    tracerClicks,
    settledAfterS,
    ok: {
      everyGetRecordedOnce: delta.recorded === gets,
      noneDropped: delta.dropped === 0,
      allFlushed: delta.flushed === gets,
      allFolded: delta.folded === gets,
      tracersExact: tracerClicks === tracerGets,
      dimensionsExact: dimensions.wrong.length === 0 && dimensions.checked === tracers.keys.length,
      noPersonalDataInLogs: leaks.length === 0
    },
    logsSearched: leaks.searched,
    dimensions
  }
  if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2))
  const failed = Object.entries(result.ok).filter(([, ok]) => !ok).map(([name]) => name)
  console.log(`clicks: k6 got ${gets} GET and ${heads} HEAD 302s; the replicas recorded ${delta.recorded}, flushed ${delta.flushed}, dropped ${delta.dropped}; ` +
    `the key-worker folded ${delta.folded}; tracer links counted ${tracerClicks} of ${tracerGets}; ` +
    `${leaks.searched.length} log files hold ${leaks.length === 0 ? 'no' : leaks.length} address or user agent sent; ` +
    `dimensions of ${dimensions.checked} tracer links checked by ${CLICK_DIMENSIONS.length} \`by\`s, ${dimensions.wrong.length} wrong; settled ${settledAfterS.toFixed(1)} s after the run` +
    (failed.length ? ` — FAILED: ${failed.join(', ')}` : ' — every GET counted once, no HEAD'))
  if (failed.length) process.exitCode = 1
}

/** The log files of the local stack (nginx's, the services'), searched for what the visitors sent. */
function personalDataInLogs (): string[] & { searched: string[] } {
  const visitors = (JSON.parse(readFileSync(new URL('./lib/visitors.json', import.meta.url), 'utf8')) as { visitors: Visitor[] }).visitors
  const secrets = [...new Set(visitors.flatMap((v) => [v.address, v.userAgent]))]
  const files = [join(args.logs!, 'nginx/logs'), join(args.logs!, 'services')]
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).filter((f) => /\.(log|out)(\.\d+)?$/.test(f)).map((f) => join(dir, f)))
  const found: string[] = []
  for (const file of files) {
    for (const secret of containedIn(file, secrets)) found.push(`${file}: ${secret.slice(0, 40)}`)
  }
  if (found.length > 0) console.log(`personal data in logs:\n  ${found.slice(0, 10).join('\n  ')}`)
  return Object.assign(found, { searched: files })
}

/** Which of `secrets` a file holds, read in chunks (an access log after a benchmark is gigabytes). */
function containedIn (file: string, secrets: string[]): Set<string> {
  const found = new Set<string>()
  const overlap = Math.max(...secrets.map((s) => s.length))
  const chunk = Buffer.alloc(64 * 1024 * 1024)
  const fd = openSync(file, 'r')
  try {
    let tail = ''
    let position = 0
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, position)
      if (read === 0) break
      position += read
      const text = tail + chunk.toString('latin1', 0, read)
      for (const secret of secrets) if (text.includes(secret)) found.add(secret)
      tail = text.slice(-overlap)
    }
  } finally {
    closeSync(fd)
  }
  return found
}

interface Visitor {
  address: string
  userAgent: string
  referer: string | null
  query: string
}

interface LinkStats {
  clicks: number
  botClicks: number
  uniqueVisitors: number
  rows: Array<{ value: string, clicks: number }>
}

/**
 * Each tracer link's analytics against what its one visitor is (the services' own derivation
 * says what that is in every dimension): every `by` has a single row of all its clicks, the
 * visitor is counted once, and a bot's clicks have no dimension. Polls until the deadline, as the
 * dimensions are folded just after the clicks.
 */
async function verifyDimensions (keys: string[], deadline: number): Promise<{ checked: number, wrong: string[] }> {
  const visitors = (JSON.parse(readFileSync(new URL('./lib/visitors.json', import.meta.url), 'utf8')) as { visitors: Visitor[] }).visitors
  const countries = await openCountryLookup(bundledCountryDatabase())
  const derive = createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 100 }) })
  const expected: ClickDimensions[] = visitors.map((v) =>
    derive({ referer: v.referer ?? undefined, userAgent: v.userAgent, address: v.address, query: v.query }))
  countries.close()
  let wrong: string[] = []
  do {
    wrong = []
    await Promise.all(keys.map(async (key, i) => {
      const want = expected[i % expected.length]!
      const byDay = await statsOf(key, 'day')
      if (byDay.clicks + byDay.botClicks === 0) return
      if (want.device === 'bot') {
        if (byDay.clicks !== 0) wrong.push(`${key}: a bot's link has ${byDay.clicks} clicks by people`)
        return
      }
      if (byDay.uniqueVisitors !== 1) wrong.push(`${key}: ${byDay.uniqueVisitors} unique visitors, not 1`)
      for (const by of CLICK_DIMENSIONS) {
        const stats = await statsOf(key, by)
        const rows = JSON.stringify(stats.rows)
        const single = JSON.stringify([{ value: want[by], clicks: byDay.clicks }])
        if (stats.clicks !== byDay.clicks || rows !== single) wrong.push(`${key} by=${by}: ${rows}, expected ${single}`)
      }
    }))
    if (wrong.length === 0 || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  } while (true)
  if (wrong.length > 0) console.log(`dimensions wrong (first 10 of ${wrong.length}):\n  ${wrong.slice(0, 10).join('\n  ')}`)
  return { checked: keys.length, wrong: wrong.slice(0, 100) }
}

async function statsOf (key: string, by: string): Promise<LinkStats> {
  const res = await fetch(`${baseUrl}/api/v1/links/${key}/stats?by=${by}`)
  if (!res.ok) throw new Error(`GET /api/v1/links/${key}/stats?by=${by} answered ${res.status}`)
  return await res.json() as LinkStats
}

if (positionals[0] === 'prepare') await prepare()
else if (positionals[0] === 'verify') await verify()
else throw new Error('usage: clicks.ts prepare|verify (see the top of the file)')
