import { ImportTooLargeError, InvalidImportError } from '@shortwave/common/errors'
import { Transform, type Readable } from 'node:stream'
import type { ImportFields } from './fields.ts'
import { LAYOUTS, detectLayout, type ImportLayout, type LayoutName } from './formats/index.ts'
import { readCsv, type FileRecord } from './read-csv.ts'
import { readNdjson } from './read-ndjson.ts'

// An upload is read to its end before the job starts, so the answer can say how many rows it has
// and a file that cannot be read at all changes nothing. It is read as a stream, never buffered
// whole: bytes are counted as they come and the upload is refused once over the limit.

export const IMPORT_FORMATS = ['csv', 'ndjson', 'bitly', 'yourls', 'kutt', 'shlink'] as const
export type ImportFormat = typeof IMPORT_FORMATS[number]
export type Framing = 'csv' | 'ndjson'

/** A row of the file: the fields of the link it describes, or why it could not be read. */
export type ImportRow = { line: number, fields: ImportFields } | { line: number, problem: string }

export interface Upload {
  layout: LayoutName
  rows: ImportRow[]
}

export interface UploadLimits {
  maxBytes: number
  maxRows: number
}

function tooLarge (limits: UploadLimits): Error {
  return new ImportTooLargeError(`an import may hold at most ${limits.maxBytes} bytes and ${limits.maxRows} rows; split the file`)
}

/** Passes the bytes through and fails the stream once more than `maxBytes` went by. */
function byteLimit (limits: UploadLimits): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(seen > limits.maxBytes ? tooLarge(limits) : null, chunk)
    }
  })
}

/** The layout `format` names; csv and ndjson are Shortwave's own layout and must match the body's type. */
function namedLayout (format: ImportFormat, framing: Framing): ImportLayout {
  if (format === 'csv' || format === 'ndjson') {
    if (format !== framing) {
      throw new InvalidImportError(`format=${format} does not match the body (Content-Type of ${framing === 'csv' ? 'text/csv' : 'application/x-ndjson'}); send the matching Content-Type or leave format out`)
    }
    return LAYOUTS.shortwave
  }
  return LAYOUTS[format]
}

export async function readUpload (
  body: Readable, framing: Framing, format: ImportFormat | undefined, limits: UploadLimits
): Promise<Upload> {
  const limited = body.pipe(byteLimit(limits))
  body.on('error', (err) => limited.destroy(err))
  const records: AsyncIterable<FileRecord> = framing === 'csv' ? readCsv(limited) : readNdjson(limited)
  let layout = format === undefined ? null : namedLayout(format, framing)
  const rows: ImportRow[] = []
  for await (const record of records) {
    if (rows.length >= limits.maxRows) throw tooLarge(limits)
    if ('problem' in record) {
      rows.push(record)
      continue
    }
    layout ??= detectLayout(new Set(Object.keys(record.values))) ?? undetectable(record.values)
    rows.push({ line: record.line, fields: layout.toFields(record.values) })
  }
  if (rows.length === 0) throw new InvalidImportError('the body holds no rows: send a header line and one line per link')
  // csv-parse reports a skipped record as it meets it, ahead of records still buffered: file order again.
  rows.sort((a, b) => a.line - b.line)
  return { layout: layout?.name ?? 'shortwave', rows }
}

function undetectable (values: Record<string, unknown>): never {
  const columns = Object.keys(values).slice(0, 20).join(', ')
  throw new InvalidImportError(`format: cannot tell the file's layout from its columns (${columns}); a Shortwave file needs a "url" column, or send ?format=bitly|yourls|kutt|shlink`)
}
