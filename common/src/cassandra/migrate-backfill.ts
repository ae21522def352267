import cassandra from 'cassandra-driver'
import { batchesOf } from '../coalesced-writes.ts'
import { DEFAULT_DOMAIN, parseScopedKey } from '../domains.ts'
import { isCassandraUnavailable } from '../errors.ts'
import { createLinkIndex, listWrites, type IndexWrite } from '../link-index.ts'
import { createLinkRepository, IDEMPOTENT } from '../link-repository.ts'

// The backfill of migration 009's tables (schema-link-list.ts) from the links that exist: the one
// place Shortwave reads a whole table, because it is a migration, not a request. It is
//   online      the links table is read a token range at a time, a page of rows per request, and
//               the index rows are plain inserts: redirects and creates go on meanwhile;
//   idempotent  every write is an insert of the same row (or a move to the same click count);
//   resumable   each token range done is recorded in migration_progress, and a run skips those.
// Two passes: the links (every entry, with 0 clicks), then the click counters (each link with
// clicks moves to its total, unless the key-worker's fold has ranked it already: the fold's
// total is the newer one).
//
// Links created while the backfill runs are listed by the create path itself, once the version
// that writes these tables serves creates; run `npm run migrate` before rolling it out, and with
// --backfill-again afterwards to catch the links older replicas created in between (README).

export const LINKS_JOB = '009-link-list'
export const CLICKS_JOB = '009-link-list-clicks'
/** Token ranges a pass is cut into: the unit of progress and of resumption. */
export const RANGES = 64
const PAGE = 1000
// Index writes in flight at once: enough to keep one Cassandra node busy, not so many that
// redirects reading it wait.
const WRITE_CONCURRENCY = 32
// Rows per unlogged batch: small rows (under 100 bytes), so a batch stays under Cassandra's 5 KiB warning.
const BATCH_ROWS = 30
const DONE = -1

type Row = cassandra.types.Row

// Every statement here is idempotent, so one that times out (Cassandra busy with the requests the
// backfill runs beside) is sent again, after a pause that grows, rather than failing the run.
const ATTEMPTS = 6

async function retried<T> (work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= ATTEMPTS || !isCassandraUnavailable(error)) throw error
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt))
    }
  }
}

const Q = {
  done: 'SELECT range_index FROM migration_progress WHERE job = ?',
  mark: 'INSERT INTO migration_progress (job, range_index, links, done_at) VALUES (?, ?, ?, ?)',
  forget: 'DELETE FROM migration_progress WHERE job = ?',
  links: 'SELECT bucket, key, url, created_at, owner, title, tags, deleted_at FROM links WHERE token(bucket) >= ? AND token(bucket) <= ?',
  clicks: 'SELECT key, clicks FROM link_clicks_daily WHERE token(key) >= ? AND token(key) <= ?'
} as const

export interface BackfillOptions {
  log?: (message: string) => void
  /** Starts over: forgets the ranges done (--backfill-again). */
  again?: boolean
  ranges?: number
}

export interface BackfillOutcome {
  /** Links (or clicked links) indexed by this run. */
  indexed: number
  /** Ranges this run did; the others were done by an earlier run. */
  ranges: number
  seconds: number
}

/** Inclusive [first, last] token bounds of range i of n over Murmur3's whole ring. */
export function tokenRange (i: number, n: number): [cassandra.types.Long, cassandra.types.Long] {
  const min = -(2n ** 63n)
  const span = 2n ** 64n
  const start = min + span * BigInt(i) / BigInt(n)
  const end = min + span * BigInt(i + 1) / BigInt(n) - 1n
  return [cassandra.types.Long.fromString(start.toString()), cassandra.types.Long.fromString(end.toString())]
}

/** The domain of a links row by its partition: `host/bucket` on a registered domain, the bucket alone otherwise. */
const domainOfBucket = (bucket: string): string => bucket.includes('/') ? bucket.slice(0, bucket.lastIndexOf('/')) : DEFAULT_DOMAIN

/**
 * Writes index rows in unlogged batches, WRITE_CONCURRENCY at a time: the rows of one partition
 * together where many links share it (a tag, a common word), and the rest (one row each: a rare
 * word, a key) BATCH_ROWS to a batch across partitions. One request per row made the backfill
 * bound by requests, not rows (a few hundred links a second).
 */
async function writeGrouped (client: cassandra.Client, writes: IndexWrite[]): Promise<void> {
  const batches = batchesOf(writes, { partitionRows: BATCH_ROWS, partitions: BATCH_ROWS })
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!
      const queries = batch.map(({ query, params }) => ({ query, params }))
      await retried(() => client.batch(queries, { ...IDEMPOTENT, logged: false }))
    }
  }
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, batches.length) }, lane))
}

async function * rowsOf (client: cassandra.Client, query: string, range: unknown[]): AsyncGenerator<Row> {
  let pageState: string | undefined
  do {
    const page = pageState === undefined ? {} : { pageState }
    const result = await retried(() => client.execute(query, range, { ...IDEMPOTENT, fetchSize: PAGE, ...page }))
    yield * result.rows
    pageState = result.pageState ?? undefined
  } while (pageState !== undefined)
}

/** The links of one token range: their index entries, a page at a time; how many links. */
async function linksPass (client: cassandra.Client, range: unknown[]): Promise<number> {
  let indexed = 0
  let writes: IndexWrite[] = []
  for await (const row of rowsOf(client, Q.links, range)) {
    if (row['url'] == null || row['deleted_at'] != null || row['owner'] == null) continue
    const link = {
      key: row['key'] as string,
      url: row['url'] as string,
      createdAt: row['created_at'] as Date,
      owner: row['owner'] as string,
      title: (row['title'] as string | null) ?? null,
      tags: (row['tags'] as string[] | null) ?? []
    }
    writes.push(...listWrites(link, domainOfBucket(row['bucket'] as string)))
    indexed++
    if (indexed % PAGE === 0) {
      await writeGrouped(client, writes)
      writes = []
    }
  }
  await writeGrouped(client, writes)
  return indexed
}

/** The click counters of one token range: each clicked link not yet ranked moves to its total. */
async function clicksPass (client: cassandra.Client, range: unknown[]): Promise<number> {
  const repo = createLinkRepository(client)
  const index = createLinkIndex(client)
  const totals = new Map<string, number>()
  for await (const row of rowsOf(client, Q.clicks, range)) {
    const key = row['key'] as string
    totals.set(key, (totals.get(key) ?? 0) + Number(row['clicks'] ?? 0))
  }
  let ranked = 0
  const keys = [...totals.keys()]
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < keys.length) {
      const scoped = keys[next++]!
      const total = totals.get(scoped)!
      const { domain, key } = parseScopedKey(scoped)
      if (total === 0) continue
      const [link, rank] = await retried(() => Promise.all([repo.find(key, domain), index.rank(key, domain)]))
      if (link === null || link.owner === null || rank !== null) continue
      await retried(() => index.moveRank(link, domain, total, null))
      ranked++
    }
  }
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, keys.length) }, lane))
  return ranked
}

/** Runs one job over every token range it has not done yet, printing its progress. */
type Pass = (client: cassandra.Client, range: unknown[]) => Promise<number>

async function runJob (client: cassandra.Client, job: string, pass: Pass, opts: BackfillOptions):
Promise<BackfillOutcome> {
  const log = opts.log ?? (() => {})
  const n = opts.ranges ?? RANGES
  if (opts.again === true) await client.execute(Q.forget, [job], IDEMPOTENT)
  const done = new Set((await client.execute(Q.done, [job], IDEMPOTENT)).rows.map((r) => r['range_index'] as number))
  const started = performance.now()
  const outcome: BackfillOutcome = { indexed: 0, ranges: 0, seconds: 0 }
  if (done.has(DONE)) {
    log(`${job}: already done`)
    return outcome
  }
  if (done.size > 0) log(`${job}: resuming, ${done.size} of ${n} token ranges done by an earlier run`)
  for (let i = 0; i < n; i++) {
    if (done.has(i)) continue
    const count = await pass(client, tokenRange(i, n))
    await retried(() => client.execute(Q.mark, [job, i, count, new Date()], IDEMPOTENT))
    outcome.indexed += count
    outcome.ranges++
    const seconds = (performance.now() - started) / 1000
    log(`${job}: range ${i + 1}/${n} done, ${count} links (this run: ${outcome.indexed} in ${seconds.toFixed(1)} s, ` +
      `${Math.round(outcome.indexed / Math.max(seconds, 0.001))}/s)`)
  }
  await retried(() => client.execute(Q.mark, [job, DONE, outcome.indexed, new Date()], IDEMPOTENT))
  outcome.seconds = (performance.now() - started) / 1000
  log(`${job}: done, ${outcome.indexed} links in ${outcome.seconds.toFixed(1)} s`)
  return outcome
}

/** Fills the list's tables from the links and clicks stored (client: on the migrated keyspace). */
export async function backfillLinkList (client: cassandra.Client, opts: BackfillOptions = {}):
Promise<BackfillOutcome[]> {
  return [
    await runJob(client, LINKS_JOB, linksPass, opts),
    await runJob(client, CLICKS_JOB, clicksPass, opts)
  ]
}
