import { createHash } from 'node:crypto'
import type { FastifyError, FastifySchemaValidationError } from 'fastify'
import type { Link } from '@shortwave/common/link-repository'
import { formatValidationErrors } from '../validation-messages.ts'
import type { ImportFields } from './fields.ts'
import type { ImportedRow, RowError } from './import-store.ts'
import type { ImportRow } from './read-upload.ts'

// One row of an import, in two steps: checked on its own (precheck: the create body's schema, the
// domain, a key repeated in the file), then, once the job knows which identities this API key
// imported before (import_rows, a chunk of rows at a time), created the way a single create is
// (LinkService.createLink: the URL policy, the key pool, an alias's conditional write). A row that
// fails writes nothing but its error.

export type RowOutcome = 'skipped' | { error: RowError }

/** A row that passed its checks: created unless its identity was imported before. */
export interface Candidate {
  line: number
  id: string
  domain: string
  body: Record<string, unknown>
}

/** What creating a candidate came to; `imported` is the identity to record. */
export type Created = { outcome: 'created' | 'skipped', imported: ImportedRow } | { outcome: { error: RowError } }

type Validator = ((body: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null }

export interface RowContext {
  owner: string
  jobId: string
  /** The create body's validator (the very schema of POST /api/v1/links). */
  validate: Validator
  create: (body: Record<string, unknown>, domain: string, owner: string) => Promise<Link>
  /** The owner of the link stored under the key on the domain, null when there is none. */
  ownerOf: (domain: string, key: string) => Promise<string | null | undefined>
  /** The stored domain ('' = default) of a row's domain column, or null for a host this service does not serve. */
  resolveDomain: (host: string) => string | null
  /** Row identity → the first line that had it, across the job (a file naming a key twice). */
  seen: Map<string, number>
}

const FIELDS = ['url', 'key', 'domain', 'title', 'tags', 'expiresAt', 'validFrom', 'maxClicks', 'fallbackUrl', 'disabled',
  'forwardQuery', 'redirectStatus'] as const

/** The create body of a row: its fields under the create's names (`alias` for `key`). */
function createBody (fields: ImportFields): Record<string, unknown> {
  const { key, domain: _domain, ...rest } = fields
  return { ...rest, ...(key === undefined ? {} : { alias: key }) }
}

function rowError (line: number, field: string, message: string, code: string): { error: RowError } {
  return { error: { line, field, message, code } }
}

/** The field a create's error is about: its message starts with the field's name, else its code says. */
function fieldOf (error: FastifyError): string {
  const first = /^[A-Za-z]+/.exec(error.message)?.[0]
  if (first === 'alias') return 'key'
  if (first !== undefined && (FIELDS as readonly string[]).includes(first)) return first
  switch (error.code) {
    case 'SW_ALIAS_TAKEN': case 'SW_INVALID_ALIAS': return 'key'
    case 'SW_INVALID_EXPIRY': return 'expiresAt'
    case 'SW_INVALID_VALID_FROM': return 'validFrom'
    case 'SW_INVALID_URL': case 'SW_URL_PRIVATE_TARGET': case 'SW_URL_UNRESOLVABLE': return 'url'
    default: return 'row'
  }
}

function validationError (line: number, validate: Validator): { error: RowError } {
  const first = validate.errors?.[0]
  const path = first?.instancePath.slice(1).split('/')[0] ?? ''
  const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
  const field = (path || missing || 'row') === 'alias' ? 'key' : (path || missing || 'row')
  const message = formatValidationErrors(validate.errors ?? [], 'row').message.replace(/^alias\b/, 'key')
  return rowError(line, field, message, 'FST_ERR_VALIDATION')
}

/**
 * A row's identity: its key when it names one (the same key twice is the same link), else a hash of
 * everything it sets (the same row twice is the same link). The owner is the other half of the
 * import_rows partition key.
 */
export function rowIdentity (domain: string, body: Record<string, unknown>): string {
  if (typeof body['alias'] === 'string') return `k:${domain}/${body['alias']}`
  const tags = Array.isArray(body['tags']) ? [...body['tags'] as string[]].sort() : body['tags']
  const values = [domain, body['url'], body['title'], tags, body['expiresAt'], body['validFrom'], body['maxClicks'],
    body['fallbackUrl'], body['disabled'], body['forwardQuery'], body['redirectStatus']]
  return `h:${createHash('sha256').update(JSON.stringify(values)).digest('base64url')}`
}

/** Checks a row without I/O: a failure, a repeat within the file (skipped), or a candidate. */
export function precheck (row: ImportRow, ctx: RowContext): RowOutcome | Candidate {
  if ('problem' in row) return rowError(row.line, 'row', row.problem, 'SW_INVALID_IMPORT')
  const body = createBody(row.fields)
  if (!ctx.validate(body)) return validationError(row.line, ctx.validate)
  const host = typeof row.fields.domain === 'string' ? row.fields.domain.toLowerCase() : ''
  const domain = ctx.resolveDomain(host)
  if (domain === null) return rowError(row.line, 'domain', `domain "${host}" is not a domain of this service`, 'SW_DOMAIN_NOT_FOUND')

  const id = rowIdentity(domain, body)
  const first = ctx.seen.get(id)
  if (first !== undefined) {
    // The same key twice in one file names two links for one key: the later row is refused. The
    // same key-less row twice is one link.
    if (id.startsWith('k:')) return rowError(row.line, 'key', `key "${String(body['alias'])}" is on line ${first} already`, 'SW_ALIAS_TAKEN')
    return 'skipped'
  }
  ctx.seen.set(id, row.line)
  return { line: row.line, id, domain, body }
}

/**
 * Creates a candidate this API key did not import before. A dependency failure (Cassandra, Redis)
 * is thrown, not listed: the job stops there, and a re-run picks up the rows it did not get to.
 */
export async function createRow (candidate: Candidate, ctx: RowContext): Promise<Created> {
  const { line, id, domain, body } = candidate
  try {
    const link = await ctx.create(body, domain, ctx.owner)
    return { outcome: 'created', imported: { id, domain, key: link.key } }
  } catch (thrown) {
    const error = thrown as FastifyError
    if ((error.statusCode ?? 500) >= 500) throw error
    // An alias of the owner's own: imported by a run that stopped before recording it, or created
    // by hand (an export imported back). Nothing new either way.
    const key = String(body['alias'])
    if (error.code === 'SW_ALIAS_TAKEN' && await ctx.ownerOf(domain, key) === ctx.owner) {
      return { outcome: 'skipped', imported: { id, domain, key } }
    }
    return { outcome: rowError(line, fieldOf(error), error.message, error.code ?? 'SW_INVALID_IMPORT') }
  }
}
