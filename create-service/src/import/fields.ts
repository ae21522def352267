// One link of an import file, whatever the file's layout: the fields of a create (POST
// /api/v1/links) under the names the export writes them with (`key`, not `alias`), plus `domain`.
// Values stay as loosely typed as the file gave them; the create body's schema judges them, so a
// row is refused with the very message a single create would get.

export interface ImportFields {
  url?: unknown
  key?: unknown
  domain?: unknown
  title?: unknown
  tags?: unknown
  expiresAt?: unknown
  validFrom?: unknown
  maxClicks?: unknown
  fallbackUrl?: unknown
  disabled?: unknown
  forwardQuery?: unknown
  redirectStatus?: unknown
}

/** A record of the file: its values under normalised column names (see normaliseName), and the line it ends on. */
export interface SourceRecord {
  line: number
  values: Record<string, unknown>
}

/** A header as the layouts compare it: "Long URL", "long_url" and "longUrl" all read "longurl". */
export function normaliseName (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** Text, trimmed; absent when empty (CSV has no null: an empty cell means "not set"). Other types stay as they are. */
export function text (value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string') return value
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/** A whole number written as text becomes a number; anything else is left for the schema to refuse. */
export function integer (value: unknown): unknown {
  const v = text(value)
  return typeof v === 'string' && /^-?[0-9]{1,15}$/.test(v) ? Number(v) : v
}

const TRUE = new Set(['true', '1', 'yes'])
const FALSE = new Set(['false', '0', 'no'])

/** true/false (also 1/0, yes/no, any case) as text becomes a boolean; anything else is left for the schema. */
export function boolean (value: unknown): unknown {
  const v = text(value)
  if (typeof v !== 'string') return v
  const lower = v.toLowerCase()
  return TRUE.has(lower) ? true : FALSE.has(lower) ? false : v
}

/**
 * Tags as a list: a JSON array as it is, text split on "|", "," or white space (Shlink's CSV joins
 * them with "|"; a tag holds none of these characters).
 */
export function tags (value: unknown): unknown {
  const v = text(value)
  if (typeof v !== 'string') return v
  return v.split(/[|,\s]+/).filter(Boolean)
}

/** A date as ISO-8601 with a zone: "2024-05-01 10:00:00" (SQL dumps, no zone) is read as UTC. */
export function instant (value: unknown): unknown {
  const v = text(value)
  if (typeof v !== 'string') return v
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$/.test(v)) return `${v.replace(' ', 'T')}Z`
  return v
}

/** The path of a short URL without its leading slash ("https://bit.ly/abc" and "bit.ly/abc" → "abc"). */
export function pathOf (shortUrl: unknown): unknown {
  const v = text(shortUrl)
  if (typeof v !== 'string') return v
  const withoutScheme = v.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  const slash = withoutScheme.indexOf('/')
  if (slash < 0) return undefined
  return text(withoutScheme.slice(slash + 1).replace(/[?#].*$/, '').replace(/\/+$/, ''))
}

/** Drops the fields that are absent, so the schema sees exactly what the row set. */
export function present (fields: ImportFields): ImportFields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as ImportFields
}
