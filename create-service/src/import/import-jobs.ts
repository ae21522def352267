import { ForbiddenError, ImportNotFoundError, ImportRunningError } from '@shortwave/common/errors'
import type { FastifyBaseLogger } from 'fastify'
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { mayManage, type Caller } from '../caller.ts'
import { createRow, precheck, type Candidate, type RowContext } from './import-row.ts'
import { LOCK_TTL_SECONDS, type ImportedRow, type ImportJob, type ImportStore, type RowError } from './import-store.ts'
import { readUpload, type Framing, type ImportFormat, type ImportRow, type UploadLimits } from './read-upload.ts'

// Import jobs run in the create-service replica that received the upload, `concurrency` rows at a
// time, and keep their progress in Cassandra (import_jobs) about once a second, so any replica
// answers GET /api/v1/imports/{id}. One job per API key runs at a time (import_locks). A replica
// that stops gracefully marks its jobs "interrupted"; one that dies stops writing progress, and a
// job whose progress is older than the lock's TTL reads as "interrupted" too. Either way a re-run
// of the same file finishes the job: the rows done are skipped. A chunk's identities are recorded
// once its rows are done: a replica that dies mid-chunk leaves up to a chunk of key-less rows
// unrecorded, which a re-run creates again (rows with a key are found by their key).

const FLUSH_MS = 1000
// A store that times out once (a busy Cassandra) should not stop a long import: a failing step is
// tried again after these pauses; only then does the job stop.
const RETRY_PAUSES_MS = [500, 2000, 5000, 10_000]
// Two chunks in flight: while one waits for its reads or batches, the other creates links.
const CHUNK_WORKERS = 2
/** Renewed well within its TTL, so a slow write or two does not lose it. */
const LOCK_RENEW_MS = LOCK_TTL_SECONDS * 1000 / 4

export interface ImportJobsOptions extends Omit<RowContext, 'owner' | 'jobId' | 'seen'> {
  store: ImportStore
  limits: UploadLimits
  /** Rows in flight at once per job. */
  concurrency: number
  /** Errors kept per job (failed counts them all). */
  errorsMax: number
  log: FastifyBaseLogger
}

export interface StartImport {
  caller: Caller
  body: Readable
  framing: Framing
  format?: ImportFormat
}

export interface ErrorPage {
  errors: RowError[]
  nextCursor: string | null
}

/** The job as a reader sees it: a "running" job no replica has written for a lock's lifetime is interrupted. */
/** Runs `step`, again after each pause while it fails; the last failure is thrown. */
export async function withRetries<T> (step: () => Promise<T>, pauses: readonly number[] = RETRY_PAUSES_MS): Promise<T> {
  for (const pause of pauses) {
    try {
      return await step()
    } catch {
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
  return await step()
}

export function jobView (job: ImportJob, now = Date.now()): ImportJob {
  const stale = job.status === 'running' && now - job.updatedAt.getTime() > LOCK_TTL_SECONDS * 1000
  return stale ? { ...job, status: 'interrupted' } : job
}

export function createImportJobs (opts: ImportJobsOptions) {
  const { store, log } = opts
  const running = new Set<Promise<void>>()
  const lanesPerChunk = Math.max(1, Math.ceil(opts.concurrency / CHUNK_WORKERS))
  // Rows per chunk: a few rounds of its lanes, so the lanes rarely wait for the chunk's slowest row,
  // and enough that each of the 16 buckets of import_rows gets a dozen rows a query or batch.
  const chunkSize = Math.max(256, lanesPerChunk * 4)
  let stopping = false
  // A function, not the variable: close() sets it while the lanes wait.
  const isStopping = (): boolean => stopping

  async function run (job: ImportJob, rows: ImportRow[]): Promise<void> {
    const ctx: RowContext = { ...opts, owner: job.owner, jobId: job.id, seen: new Map() }
    let nextChunk = 0
    let errorsKept = 0
    let halted = null as Error | null
    let lastRenewal = Date.now()

    const flush = async (): Promise<void> => {
      job.updatedAt = new Date()
      await store.saveProgress(job)
      if (Date.now() - lastRenewal >= LOCK_RENEW_MS) {
        lastRenewal = Date.now()
        if (!await store.renewLock(job.owner, job.id)) log.warn({ job: job.id }, 'import lock lost; another import of this key may run')
      }
    }
    const timer = setInterval(() => {
      flush().catch((err: Error) => log.warn({ err: err.message, job: job.id }, 'could not save import progress'))
    }, FLUSH_MS)

    const failed = (errors: RowError[], error: RowError): void => {
      job.failed++
      job.done++
      if (errorsKept++ < opts.errorsMax) errors.push(error)
    }

    /** Creates the candidates, `lanes` at a time; stops taking more once a dependency failed. */
    async function createAll (candidates: Candidate[], errors: RowError[], imported: ImportedRow[]): Promise<void> {
      let next = 0
      const lane = async (): Promise<void> => {
        while (next < candidates.length && halted === null) {
          const candidate = candidates[next++]!
          try {
            // Retrying a create is safe for a row with a key (its own alias is found and skipped); a
            // key-less row whose first create landed unanswered can become two links.
            const result = await withRetries(() => createRow(candidate, ctx))
            if (typeof result.outcome === 'object') failed(errors, result.outcome.error)
            else {
              imported.push(result.imported)
              if (result.outcome === 'created') job.created++
              else job.skipped++
              job.done++
            }
          } catch (error) {
            // Cassandra or Redis failed: the rows left would fail the same way. Stop; a re-run resumes.
            halted ??= error as Error
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(lanesPerChunk, candidates.length) }, lane))
    }

    // A chunk of rows at a time: its identities read with a query per bucket, its links created,
    // its identities and errors written with a batch per partition (import-store.ts).
    async function chunks (): Promise<void> {
      while (nextChunk < rows.length && !isStopping() && halted === null) {
        const chunk = rows.slice(nextChunk, nextChunk + chunkSize)
        nextChunk += chunk.length
        const errors: RowError[] = []
        const imported: ImportedRow[] = []
        const candidates: Candidate[] = []
        for (const row of chunk) {
          const checked = precheck(row, ctx)
          if (checked === 'skipped') {
            job.skipped++
            job.done++
          } else if ('error' in checked) failed(errors, checked.error)
          else candidates.push(checked)
        }
        try {
          const ids = candidates.map((c) => c.id)
          const known = ids.length === 0 ? new Set<string>() : await withRetries(() => store.findRows(job.owner, ids))
          job.skipped += known.size
          job.done += known.size
          await createAll(candidates.filter((c) => !known.has(c.id)), errors, imported)
        } catch (error) {
          halted ??= error as Error
        } finally {
          // What was created is recorded even when the chunk stopped half-way.
          const record = async (): Promise<void> => {
            await Promise.all([store.recordRows(job.owner, imported, job.id), store.addErrors(job.id, errors)])
          }
          await withRetries(record)
            .catch((error: Error) => { halted ??= error })
        }
      }
    }

    try {
      await Promise.all(Array.from({ length: CHUNK_WORKERS }, chunks))
    } finally {
      clearInterval(timer)
    }
    if (halted !== null) log.error({ err: halted.message, job: job.id, done: job.done }, 'import stopped: a dependency failed')
    job.status = job.done === job.total ? 'completed' : 'interrupted'
    job.finishedAt = new Date()
    await saveFinal(job)
  }

  /**
   * The lock goes first: once a client reads the job as ended, its next import must not find the lock
   * held. Then the last progress, which must land (the job would read "interrupted" otherwise).
   */
  async function saveFinal (job: ImportJob): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await store.releaseLock(job.owner, job.id)
        break
      } catch (error) {
        const err = (error as Error).message
        log.warn({ err, job: job.id, attempt }, 'could not release the import lock (it expires by itself)')
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        job.updatedAt = new Date()
        await store.saveProgress(job)
        break
      } catch (error) {
        if (attempt >= 5) {
          log.error({ err: (error as Error).message, job: job.id }, 'could not save the end of an import')
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      }
    }
  }

  async function readable (id: string, caller: Caller): Promise<ImportJob> {
    const job = /^imp_[0-9a-f]{24}$/.test(id) ? await store.findJob(id) : null
    if (job === null) throw new ImportNotFoundError(id.slice(0, 64))
    if (!mayManage(caller, job.owner)) throw new ForbiddenError(`the import "${id}" belongs to another API key; only its owner or an admin key may read it`)
    return jobView(job)
  }

  return {
    /**
     * Reads the upload whole (streamed, within the limits), stores the job and starts it; resolves
     * with the job once it runs. A body that cannot be read changes nothing.
     */
    async start (request: StartImport): Promise<ImportJob> {
      const owner = request.caller.id
      const id = `imp_${randomBytes(12).toString('hex')}`
      if (!await store.claimLock(owner, id)) {
        throw new ImportRunningError('another import of this API key is still running; wait for it (GET /api/v1/imports/{id}) and retry')
      }
      let job: ImportJob
      let rows: ImportRow[]
      try {
        const upload = await readUpload(request.body, request.framing, request.format, opts.limits)
        rows = upload.rows
        const now = new Date()
        const counts = { total: rows.length, done: 0, created: 0, skipped: 0, failed: 0 }
        job = { id, owner, layout: upload.layout, status: 'running', ...counts, createdAt: now, updatedAt: now, finishedAt: null }
        await store.insertJob(job)
      } catch (error) {
        await store.releaseLock(owner, id).catch(() => {})
        throw error
      }
      const started = run(job, rows).catch((err: Error) => log.error({ err: err.message, job: id }, 'import failed'))
      running.add(started)
      started.finally(() => running.delete(started)).catch(() => {})
      return { ...job }
    },

    get: readable,

    async errors (id: string, caller: Caller, cursor: string | undefined, limit: number): Promise<ErrorPage> {
      await readable(id, caller)
      const errors = await store.errors(id, cursor === undefined ? null : Number(cursor), limit + 1)
      const page = errors.slice(0, limit)
      return { errors: page, nextCursor: errors.length > limit ? String(page.at(-1)!.line) : null }
    },

    /** Stops taking rows; the jobs save where they got to ("interrupted") and release their locks. */
    async close (): Promise<void> {
      stopping = true
      await Promise.all(running)
    },

    /** Jobs running in this replica (tests wait on them). */
    idle (): Promise<void> {
      return Promise.all(running).then(() => {})
    }
  }
}
export type ImportJobs = ReturnType<typeof createImportJobs>
