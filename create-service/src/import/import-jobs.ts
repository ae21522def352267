import { ForbiddenError, ImportNotFoundError, ImportRunningError } from '@shortwave/common/errors'
import type { FastifyBaseLogger } from 'fastify'
import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { mayManage, type Caller } from '../caller.ts'
import { importRow, type RowContext } from './import-row.ts'
import { LOCK_TTL_SECONDS, type ImportJob, type ImportStore, type RowError } from './import-store.ts'
import { readUpload, type Framing, type ImportFormat, type ImportRow, type UploadLimits } from './read-upload.ts'

// Import jobs run in the create-service replica that received the upload, `concurrency` rows at a
// time, and keep their progress in Cassandra (import_jobs) about once a second, so any replica
// answers GET /api/v1/imports/{id}. One job per API key runs at a time (import_locks). A replica
// that stops gracefully marks its jobs "interrupted"; one that dies stops writing progress, and a
// job whose progress is older than the lock's TTL reads as "interrupted" too. Either way a re-run
// of the same file finishes the job: the rows done are skipped.

const FLUSH_MS = 1000
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
export function jobView (job: ImportJob, now = Date.now()): ImportJob {
  const stale = job.status === 'running' && now - job.updatedAt.getTime() > LOCK_TTL_SECONDS * 1000
  return stale ? { ...job, status: 'interrupted' } : job
}

export function createImportJobs (opts: ImportJobsOptions) {
  const { store, log } = opts
  const running = new Set<Promise<void>>()
  let stopping = false
  // A function, not the variable: close() sets it while the lanes wait.
  const isStopping = (): boolean => stopping

  async function run (job: ImportJob, rows: ImportRow[]): Promise<void> {
    const ctx: RowContext = { ...opts, owner: job.owner, jobId: job.id, seen: new Map() }
    let next = 0
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

    async function lane (): Promise<void> {
      while (next < rows.length && !isStopping() && halted === null) {
        const row = rows[next++]!
        try {
          const outcome = await importRow(row, ctx)
          if (outcome === 'created') job.created++
          else if (outcome === 'skipped') job.skipped++
          else {
            job.failed++
            if (errorsKept++ < opts.errorsMax) await store.addError(job.id, outcome.error)
          }
          job.done++
        } catch (error) {
          // Cassandra or Redis failed: the rows left would fail the same way. Stop; a re-run resumes.
          halted ??= error as Error
        }
      }
    }

    try {
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, rows.length) }, lane))
    } finally {
      clearInterval(timer)
    }
    if (halted !== null) log.error({ err: halted.message, job: job.id, done: job.done }, 'import stopped: a dependency failed')
    job.status = job.done === job.total ? 'completed' : 'interrupted'
    job.finishedAt = new Date()
    await saveFinal(job)
  }

  /** The last progress must land (the job would read "interrupted" otherwise): a few tries. */
  async function saveFinal (job: ImportJob): Promise<void> {
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
    await store.releaseLock(job.owner, job.id).catch((err: Error) => {
      log.warn({ err: err.message, job: job.id }, 'could not release the import lock; it expires by itself')
    })
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
