import { IDEMPOTENT } from '@shortwave/common/link-repository'
import type cassandra from 'cassandra-driver'
import { createHash } from 'node:crypto'

// The CQL of imports (tables: common/src/cassandra/schema.ts, migration 010-imports). Every query
// names its partition; every value is bound.

export type JobStatus = 'running' | 'completed' | 'interrupted'

export interface ImportCounts {
  total: number
  done: number
  created: number
  skipped: number
  failed: number
}

export interface ImportJob extends ImportCounts {
  id: string
  owner: string
  layout: string
  status: JobStatus
  createdAt: Date
  updatedAt: Date
  finishedAt: Date | null
}

export interface RowError {
  line: number
  field: string
  message: string
  code: string
}

/** A row an import created or found: its identity (import-row.ts rowIdentity) and the link it is. */
export interface ImportedRow {
  id: string
  domain: string
  key: string
}

/** Partitions of one owner's import_rows (see the table). */
export const ROW_BUCKETS = 16

/** The bucket of an identity: its hash, so that any chunk of rows spreads evenly. */
export function bucketOfRow (id: string): number {
  return createHash('sha256').update(id).digest().readUInt16BE(0) % ROW_BUCKETS
}

function byBucket<T> (items: readonly T[], idOf: (item: T) => string): Map<number, T[]> {
  const groups = new Map<number, T[]>()
  for (const item of items) {
    const bucket = bucketOfRow(idOf(item))
    const group = groups.get(bucket)
    if (group === undefined) groups.set(bucket, [item])
    else group.push(item)
  }
  return groups
}

// Cassandra warns about batches over 5 KiB; an import row is about a hundred bytes.
const BATCH_MAX = 40

/** Seconds a lock outlives its last renewal: a runner that stopped renewing is gone. */
export const LOCK_TTL_SECONDS = 60

const Q = {
  claimLock: 'INSERT INTO import_locks (owner, job_id) VALUES (?, ?) IF NOT EXISTS USING TTL ' + LOCK_TTL_SECONDS,
  renewLock: 'UPDATE import_locks USING TTL ' + LOCK_TTL_SECONDS + ' SET job_id = ? WHERE owner = ? IF job_id = ?',
  releaseLock: 'DELETE FROM import_locks WHERE owner = ? IF job_id = ?',
  insertJob: 'INSERT INTO import_jobs (id, owner, layout, status, total, done, created, skipped, failed, created_at, updated_at) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  progress: 'UPDATE import_jobs SET status = ?, done = ?, created = ?, skipped = ?, failed = ?, updated_at = ?, finished_at = ? WHERE id = ?',
  job: 'SELECT id, owner, layout, status, total, done, created, skipped, failed, created_at, updated_at, finished_at FROM import_jobs WHERE id = ?',
  addError: 'INSERT INTO import_errors (job_id, line, field, message, code) VALUES (?, ?, ?, ?, ?)',
  errorsFirst: 'SELECT line, field, message, code FROM import_errors WHERE job_id = ? LIMIT ?',
  errorsAfter: 'SELECT line, field, message, code FROM import_errors WHERE job_id = ? AND line > ? LIMIT ?',
  findRows: 'SELECT row_id FROM import_rows WHERE owner = ? AND bucket = ? AND row_id IN ?',
  recordRow: 'INSERT INTO import_rows (owner, bucket, row_id, domain, key, job_id) VALUES (?, ?, ?, ?, ?, ?)'
} as const

function toJob (row: cassandra.types.Row): ImportJob {
  return {
    id: row['id'] as string,
    owner: row['owner'] as string,
    layout: row['layout'] as string,
    status: row['status'] as JobStatus,
    total: row['total'] as number,
    done: row['done'] as number,
    created: row['created'] as number,
    skipped: row['skipped'] as number,
    failed: row['failed'] as number,
    createdAt: row['created_at'] as Date,
    updatedAt: row['updated_at'] as Date,
    finishedAt: (row['finished_at'] as Date | null) ?? null
  }
}

export function createImportStore (client: cassandra.Client) {
  /** Statements of one partition, sent as unlogged batches of BATCH_MAX. */
  async function inBatches (queries: Array<{ query: string, params: unknown[] }>): Promise<void> {
    for (let i = 0; i < queries.length; i += BATCH_MAX) {
      await client.batch(queries.slice(i, i + BATCH_MAX), { ...IDEMPOTENT, logged: false })
    }
  }

  return {
    /** True when this job now holds the owner's import lock; false while another job holds it. */
    async claimLock (owner: string, jobId: string): Promise<boolean> {
      return (await client.execute(Q.claimLock, [owner, jobId], { prepare: true })).wasApplied()
    },

    async renewLock (owner: string, jobId: string): Promise<boolean> {
      return (await client.execute(Q.renewLock, [jobId, owner, jobId], { prepare: true })).wasApplied()
    },

    async releaseLock (owner: string, jobId: string): Promise<void> {
      await client.execute(Q.releaseLock, [owner, jobId], { prepare: true })
    },

    async insertJob (job: ImportJob): Promise<void> {
      const params = [
        job.id, job.owner, job.layout, job.status, job.total, job.done, job.created, job.skipped, job.failed,
        job.createdAt, job.updatedAt
      ]
      await client.execute(Q.insertJob, params, IDEMPOTENT)
    },

    async saveProgress (job: ImportJob): Promise<void> {
      const params = [
        job.status, job.done, job.created, job.skipped, job.failed, job.updatedAt, job.finishedAt ?? undefined, job.id
      ]
      await client.execute(Q.progress, params, IDEMPOTENT)
    },

    async findJob (id: string): Promise<ImportJob | null> {
      const row = (await client.execute(Q.job, [id], IDEMPOTENT)).first()
      return row ? toJob(row) : null
    },

    /** Stores errors of one job: one partition, so unlogged batches of a few dozen cost one write each. */
    async addErrors (jobId: string, errors: readonly RowError[]): Promise<void> {
      const queries = errors.map((e) => ({ query: Q.addError, params: [jobId, e.line, e.field, e.message, e.code] }))
      await inBatches(queries)
    },

    /** Up to `limit` errors of the job in line order, after line `after` (from the first when null). */
    async errors (jobId: string, after: number | null, limit: number): Promise<RowError[]> {
      const result = after === null
        ? await client.execute(Q.errorsFirst, [jobId, limit], IDEMPOTENT)
        : await client.execute(Q.errorsAfter, [jobId, after, limit], IDEMPOTENT)
      return result.rows.map((r) => ({
        line: r['line'] as number, field: r['field'] as string, message: r['message'] as string, code: r['code'] as string
      }))
    },

    /** Which of these identities the owner imported before: one query per bucket they fall in. */
    async findRows (owner: string, ids: readonly string[]): Promise<Set<string>> {
      const found = new Set<string>()
      await Promise.all([...byBucket(ids, (id) => id)].map(async ([bucket, group]) => {
        const result = await client.execute(Q.findRows, [owner, bucket, group], IDEMPOTENT)
        for (const row of result.rows) found.add(row['row_id'] as string)
      }))
      return found
    },

    /** Records rows as imported by the owner: one single-partition batch per bucket (and BATCH_MAX rows). */
    async recordRows (owner: string, rows: readonly ImportedRow[], jobId: string): Promise<void> {
      await Promise.all([...byBucket(rows, (r) => r.id)].map(([bucket, group]) =>
        inBatches(group.map((r) => ({ query: Q.recordRow, params: [owner, bucket, r.id, r.domain, r.key, jobId] })))))
    }
  }
}
export type ImportStore = ReturnType<typeof createImportStore>
