// Import a file of links (Shortwave's export, or Bitly's, YOURLS', Kutt's or Shlink's) with live
// progress from the job and its refused rows, and export yours as CSV or NDJSON.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { call, get, query } from '../api.ts'
import { count, Notice, saveBlob } from '../ui/controls.tsx'
import { toApiError, useFocusOnMount } from '../ui/hooks.ts'
import type { Me } from '../session.ts'
import type { ImportError, ImportJob } from '../types.ts'

const FORMATS: Array<[string, string]> = [
  ['', 'Tell from the file'], ['csv', 'Shortwave CSV'], ['ndjson', 'Shortwave NDJSON'], ['bitly', 'Bitly'], ['yourls', 'YOURLS'], ['kutt', 'Kutt'], ['shlink', 'Shlink']
]
const POLL_MS = 500
const REPORT_ROWS = 10_000

/** The content type the API reads a file as: NDJSON for .ndjson, .jsonl and .json, CSV otherwise. */
export function contentTypeOf (name: string): string {
  return /\.(ndjson|jsonl|json)$/i.test(name) ? 'application/x-ndjson' : 'text/csv'
}

/** The refused rows as CSV, for a spreadsheet: every value quoted, quotes doubled. */
export function reportCsv (errors: ImportError[]): string {
  const cell = (v: unknown): string => `"${String(v ?? '').replace(/"/g, '""')}"`
  return ['line,field,code,message', ...errors.map((e) => [e.line, e.field, e['code'], e.message].map(cell).join(','))].join('\r\n') + '\r\n'
}

async function allErrors (id: string): Promise<ImportError[]> {
  const errors: ImportError[] = []
  let cursor: string | null = null
  do {
    const page: { errors: ImportError[], nextCursor: string | null } =
      await get(`/api/v1/imports/${encodeURIComponent(id)}/errors${query({ limit: 100, cursor })}`)
    errors.push(...page.errors)
    cursor = page.nextCursor
  } while (cursor !== null && errors.length < REPORT_ROWS)
  return errors
}

export function ImportExport ({ me }: { me: Me }): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>('import')
  const [job, setJob] = useState<ImportJob | null>(null)
  const [errors, setErrors] = useState<ImportError[] | null>(null)
  const [problem, setProblem] = useState('')
  const [busy, setBusy] = useState(false)

  // Polls the job while it runs; its refused rows once it ends.
  useEffect(() => {
    if (job === null || job.status !== 'running') return
    const timer = setTimeout(() => {
      get<ImportJob>(`/api/v1/imports/${encodeURIComponent(job.id)}`).then(setJob, (e: unknown) => setProblem(toApiError(e).message))
    }, POLL_MS)
    return () => clearTimeout(timer)
  }, [job])
  useEffect(() => {
    if (job === null || job.status === 'running' || errors !== null) return
    allErrors(job.id).then(setErrors, (e: unknown) => setProblem(toApiError(e).message))
  }, [job, errors])

  async function upload (event: Event): Promise<void> {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0]
    const format = String(new FormData(form).get('format') ?? '')
    setProblem('')
    if (file === undefined) {
      setProblem('Choose the file to import.')
      form.querySelector<HTMLElement>('#im-file')?.focus()
      return
    }
    setBusy(true)
    setJob(null)
    setErrors(null)
    try {
      const { data } = await call<ImportJob>(`/api/v1/links/import${query({ format })}`, { method: 'POST', raw: { data: file, type: contentTypeOf(file.name) } })
      setJob(data)
    } catch (e) {
      setProblem(toApiError(e).message)
    } finally {
      setBusy(false)
    }
  }

  async function exportAs (format: 'csv' | 'ndjson'): Promise<void> {
    try {
      const answer = await call<Blob>(`/api/v1/links/export?format=${format}`, { headers: { accept: '*/*' } })
      const name = /filename="([^"]+)"/.exec(answer.headers.get('content-disposition') ?? '')?.[1] ?? `shortwave-links.${format}`
      saveBlob(answer.data, name)
    } catch (e) {
      setProblem(toApiError(e).message)
    }
  }

  const pct = job === null || job.total === 0 ? 0 : Math.round(100 * job.done / job.total)
  return (
    <>
      <h1 tabindex={-1} ref={heading}>Import and export</h1>
      <section class='panel' aria-labelledby='import-title'>
        <h2 id='import-title'>Import links</h2>
        <p class='hint'>CSV or NDJSON: Shortwave's export, or an export of Bitly, YOURLS, Kutt or Shlink. Rows you imported before are skipped, so sending a file again is safe.</p>
        <form onSubmit={(e) => { upload(e).catch(() => {}) }} noValidate aria-busy={busy ? 'true' : 'false'}>
          <div class='row'>
            <div class='field'>
              <label for='im-file'>File</label>
              <input id='im-file' name='file' type='file' accept='.csv,.ndjson,.jsonl,.json,text/csv,application/x-ndjson' />
            </div>
            <div class='field'>
              <label for='im-format'>Layout</label>
              <select id='im-format' name='format'>{FORMATS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}</select>
            </div>
          </div>
          <button type='submit' disabled={busy}>{busy ? 'Sending…' : 'Import'}</button>
        </form>
        {problem !== '' && <Notice kind='error'>{problem}</Notice>}
        {job !== null && (
          <div class='job' id='import-job'>
            <label for='im-progress'>{job.status === 'running' ? `Importing (${job.layout})…` : job.status === 'completed' ? 'Import finished' : 'Import interrupted: send the file again to finish it'}</label>
            <progress id='im-progress' max={Math.max(1, job.total)} value={job.done}>{pct}%</progress>
            <p role='status' id='import-counts'>
              {count(job.done)} of {count(job.total)} rows: {count(job.created)} created,{' '}
              {count(job.skipped)} skipped, {count(job.failed)} refused.
            </p>
          </div>
        )}
        {errors !== null && errors.length > 0 && (
          <>
            <h3>Refused rows</h3>
            <p><button type='button' class='secondary' id='import-report' onClick={() => saveBlob(new Blob([reportCsv(errors)], { type: 'text/csv' }), `import-${job?.id ?? ''}-errors.csv`)}>Download the report (CSV)</button></p>
            <div class='table-wrap'>
              <table id='import-errors'>
                <thead><tr><th scope='col' class='num'>Line</th><th scope='col'>Field</th><th scope='col'>Why</th></tr></thead>
                <tbody>{errors.slice(0, 200).map((e) => <tr key={e.line}><td class='num'>{e.line}</td><td>{e.field}</td><td>{e.message}</td></tr>)}</tbody>
              </table>
            </div>
            {errors.length > 200 && <p class='hint'>The first 200 of {count(errors.length)} are shown; the report has them all.</p>}
          </>
        )}
      </section>
      <section class='panel' aria-labelledby='export-title'>
        <h2 id='export-title'>Export your links</h2>
        <p class='hint'>Every link of {me.name}, with its clicks; expired ones too.</p>
        <p class='actions'>
          <button type='button' class='secondary' id='export-csv' onClick={() => { exportAs('csv').catch(() => {}) }}>Download CSV</button>
          <button type='button' class='secondary' id='export-ndjson' onClick={() => { exportAs('ndjson').catch(() => {}) }}>Download NDJSON</button>
        </p>
      </section>
    </>
  )
}
