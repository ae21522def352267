import { parse } from 'csv-parse'
import type { Readable } from 'node:stream'
import { InvalidImportError } from '@shortwave/common/errors'
import { normaliseName, type SourceRecord } from './fields.ts'

/** A record the file could not give: its line and why. */
export interface UnreadableRecord {
  line: number
  problem: string
}

export type FileRecord = SourceRecord | UnreadableRecord

interface ParsedRecord {
  record: Record<string, string>
  info: { lines: number }
}

/**
 * The records of a CSV file (RFC 4180, by csv-parse): the first line names the columns. A record
 * with more or fewer cells than the header is reported on its own and the rest read on; a file that
 * cannot be read at all (a quote never closed) is refused whole with the line where it broke.
 */
export async function * readCsv (input: Readable): AsyncGenerator<FileRecord> {
  const skipped: UnreadableRecord[] = []
  const parser = input.pipe(parse({
    bom: true,
    columns: (header: string[]) => header.map(normaliseName),
    skip_empty_lines: true,
    relax_quotes: false,
    info: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      if (err) skipped.push({ line: (err as { lines?: number }).lines ?? 0, problem: err.message })
      return undefined
    }
  }))
  input.on('error', (err) => parser.destroy(err))
  try {
    for await (const { record, info } of parser as AsyncIterable<ParsedRecord>) {
      yield * skipped.splice(0)
      yield { line: info.lines, values: record }
    }
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('CSV_')) {
      throw new InvalidImportError(`the body is not a readable CSV file: ${(error as Error).message}`)
    }
    throw error
  }
  yield * skipped.splice(0)
}
