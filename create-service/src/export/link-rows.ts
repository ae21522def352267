import type { LinkBodyT } from '../schemas.ts'

// One exported link: every field a create accepts (so an export imports back as it is, see
// import/formats/shortwave.ts), the link's short URL, when it was created and its clicks.

export type ExportFormat = 'csv' | 'ndjson'

export type ExportedLink = LinkBodyT & { domain: string, clicks: number }

export const EXPORT_COLUMNS = [
  'key', 'domain', 'shortUrl', 'url', 'title', 'tags', 'createdAt', 'expiresAt', 'validFrom', 'maxClicks', 'fallbackUrl',
  'disabled', 'forwardQuery', 'redirectStatus', 'clicks'
] as const

type Column = typeof EXPORT_COLUMNS[number]

/** RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled. */
export function csvField (value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value
}

function cell (link: ExportedLink, column: Column): string {
  const value = link[column]
  if (value === null || value === undefined) return ''
  // Tags never hold "|" (schemas.ts): Shlink's CSV joins them the same way.
  if (Array.isArray(value)) return value.join('|')
  return String(value)
}

export const CSV_HEADER = EXPORT_COLUMNS.join(',') + '\r\n'

export function csvLine (link: ExportedLink): string {
  return EXPORT_COLUMNS.map((column) => csvField(cell(link, column))).join(',') + '\r\n'
}

export function ndjsonLine (link: ExportedLink): string {
  return JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, link[column]]))) + '\n'
}
