import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { normaliseName } from './fields.ts'
import type { FileRecord } from './read-csv.ts'

/**
 * The records of an NDJSON file: one JSON object a line, blank lines ignored. A line that is not a
 * JSON object is reported on its own and the rest read on.
 */
export async function * readNdjson (input: Readable): AsyncGenerator<FileRecord> {
  let line = 0
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++
    if (text.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      yield { line, problem: `the line is not valid JSON: ${(error as Error).message}` }
      continue
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, problem: 'the line must hold a JSON object' }
      continue
    }
    // Names compared normalised, as CSV headers are; nested objects (Shlink's meta) keep theirs.
    const values = Object.fromEntries(Object.entries(value).map(([k, v]) => [normaliseName(k), v]))
    yield { line, values }
  }
}
