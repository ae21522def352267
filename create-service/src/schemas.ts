import { ALIAS_MAX, ALIAS_MIN, ALIAS_PATTERN } from '@shortwave/common/keys'
import type { Link, LinkEdit, StoredLink } from '@shortwave/common/link-repository'
import { REDIRECT_STATUSES, type RedirectStatus } from '@shortwave/common/link-rules'
import { Type, type Static, type TSchema, type TString } from 'typebox'
import type { ListedLink } from './link-list.ts'
import type { EditPage, LinkWithClicks } from './link-service.ts'
import { URL_MAX_LENGTH, URL_SCHEME_PATTERN } from '@shortwave/common/url-policy'

// Request and response shapes of the links API: validation, serialisation and the OpenAPI
// document from one source. Descriptions of patterned fields double as their error messages.
// Every response schema carries an example; a test checks each example against its schema.

export const BATCH_MAX = 100
export const PAGE_MAX = 100
export const PAGE_DEFAULT = 20
export const TITLE_MAX = 200
export const TAGS_MAX = 10

// The shape only; the URL policy decides the rest (a public host, not this shortener, …).
const TargetUrl = Type.String({
  minLength: 1,
  maxLength: URL_MAX_LENGTH,
  pattern: URL_SCHEME_PATTERN,
  description: 'an absolute URL starting with http:// or https://'
})

const Title = Type.String({
  minLength: 1,
  maxLength: TITLE_MAX,
  pattern: '^[^\\u0000-\\u001f\\u007f]*$',
  description: `text of 1 to ${TITLE_MAX} characters without control characters (line breaks included)`
})

const Tags = Type.Array(Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$',
  description: '1 to 32 letters, digits, ".", "-" and "_", starting with a letter or digit'
}), { maxItems: TAGS_MAX, uniqueItems: true, description: `up to ${TAGS_MAX} distinct tags` })

/**
 * A string field that also takes null (to remove what it holds): one schema of type
 * ["string", "null"] rather than a union, so a wrong type is told "must be a string or null".
 */
const orNull = (schema: TString) => Type.Unsafe<string | null>({ ...schema, type: ['string', 'null'] })

/** A schema that also takes null (to clear what the field holds), as one type list. */
const nullable = <T>(schema: TSchema & { type: string }) => Type.Unsafe<T | null>({ ...schema, type: [schema.type, 'null'] })

const Instant = Type.String({ maxLength: 64, description: 'ISO-8601 date and time with a time zone' })

// How the link redirects (design.md, "Lifecycle at redirect time"); all optional, none set by default.
const Lifecycle = {
  validFrom: Instant,
  // Cassandra keeps it as a 32-bit int.
  maxClicks: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'GETs that redirect to the target at most' }),
  fallbackUrl: { ...TargetUrl, description: 'an absolute URL starting with http:// or https://, where the link sends people when it may not redirect to its target' },
  disabled: Type.Boolean({ description: 'true: the link does not redirect (fallbackUrl or 404)' }),
  forwardQuery: Type.Boolean({ description: 'true: the short URL\'s query string is merged into the target\'s' }),
  redirectStatus: Type.Unsafe<RedirectStatus>({ type: 'integer', enum: [...REDIRECT_STATUSES], description: 'one of 301, 302, 307, 308' })
}

const CreateLifecycle = {
  validFrom: Type.Optional(Lifecycle.validFrom),
  maxClicks: Type.Optional(Lifecycle.maxClicks),
  fallbackUrl: Type.Optional(Lifecycle.fallbackUrl),
  disabled: Type.Optional(Lifecycle.disabled),
  forwardQuery: Type.Optional(Lifecycle.forwardQuery),
  redirectStatus: Type.Optional(Lifecycle.redirectStatus)
}

/** The host of a registered domain, or of the default one (the default when absent): domain-schemas.ts. */
const DomainField = Type.String({ minLength: 1, maxLength: 300, description: 'a host of GET /api/v1/domains; the default domain when absent' })

/** `?domain=` of every path that names a link. */
export const DomainQueryField = { domain: Type.Optional(DomainField) }
// Other parameters stay ignored on these paths, as they were before ?domain= existed.
export const DomainQuery = Type.Object(DomainQueryField)

export const CreateLinkBody = Type.Object({
  url: TargetUrl,
  alias: Type.Optional(Type.String({
    pattern: ALIAS_PATTERN,
    description: `${ALIAS_MIN} to ${ALIAS_MAX} characters long and use only letters, digits, "-" and "_"`
  })),
  expiresAt: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date and time with a time zone' })),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds until the link expires' })),
  title: Type.Optional(Title),
  tags: Type.Optional(Tags),
  ...CreateLifecycle,
  domain: Type.Optional(DomainField)
}, {
  additionalProperties: false,
  examples: [
    { url: 'https://example.com/some/long/path?x=1', alias: 'spring-sale', ttlSeconds: 86_400 },
    { url: 'https://example.com/launch', validFrom: '2027-03-01T09:00:00Z', maxClicks: 500, fallbackUrl: 'https://example.com/sold-out' }
  ]
})

export const EditLinkBody = Type.Object({
  url: Type.Optional(TargetUrl),
  expiresAt: Type.Optional(orNull(Type.String({ maxLength: 64, description: 'ISO-8601 date and time with a time zone' }))),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds from now until the link expires' })),
  title: Type.Optional(orNull(Title)),
  tags: Type.Optional({ ...Tags, description: `up to ${TAGS_MAX} distinct tags, replacing the link's; [] removes them` }),
  validFrom: Type.Optional(orNull(Lifecycle.validFrom)),
  maxClicks: Type.Optional(nullable<number>(Lifecycle.maxClicks)),
  fallbackUrl: Type.Optional(orNull(Lifecycle.fallbackUrl)),
  disabled: Type.Optional(Lifecycle.disabled),
  forwardQuery: Type.Optional(Lifecycle.forwardQuery),
  redirectStatus: Type.Optional(Type.Unsafe<RedirectStatus | null>({
    type: ['integer', 'null'], enum: [...REDIRECT_STATUSES, null], description: 'one of 301, 302, 307, 308, or null for the service\'s'
  }))
}, {
  additionalProperties: false,
  minProperties: 1,
  description: 'The fields to change; the others stay as they are. expiresAt, title, validFrom, maxClicks, fallbackUrl and ' +
    'redirectStatus: null remove them, tags: [] the tags.',
  examples: [
    { url: 'https://example.com/new/path', expiresAt: null },
    { title: 'Spring sale', tags: ['campaign', 'spring-2027'] },
    { disabled: true, maxClicks: null }
  ]
})

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({
    maxLength: 1024,
    description: 'the ETag of the link as you read it, or *: the request applies only if the link is still in that state (412 otherwise)'
  }))
})

export const HistoryQuery = Type.Object({
  // A version, which Cassandra keeps as a 32-bit int: nine digits at most never overflow it.
  cursor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$', description: 'the nextCursor of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT, description: `edits per page, 1 to ${PAGE_MAX}` })),
  ...DomainQueryField
}, { additionalProperties: false })

export const BatchBody = Type.Object({
  links: Type.Array(Type.Unknown({ description: 'a link to create: the body of POST /api/v1/links; each is checked on its own' }), {
    minItems: 1,
    maxItems: BATCH_MAX,
    description: `1 to ${BATCH_MAX} links`
  })
}, { additionalProperties: false, examples: [{ links: [{ url: 'https://example.com/a' }, { url: 'https://example.com/b', alias: 'taken-alias' }] }] })

export const CreateHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    pattern: '^[\\x21-\\x7e]{1,255}$',
    description: '1 to 255 visible ASCII characters; a retry with the same key within 24 hours gets the first answer again'
  }))
})

// No pattern: a path that cannot be a key is simply not found (404), not a bad request.
export const KeyParams = Type.Object({ key: Type.String() })

const TagPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'
export const Q_MAX = 200

export const ListQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'the nextCursor of the previous page (of the same sort and order)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT, description: `links per page, 1 to ${PAGE_MAX}` })),
  tag: Type.Optional(Type.String({ pattern: TagPattern, description: 'a tag: 1 to 32 letters, digits, ".", "-" and "_", starting with a letter or digit' })),
  q: Type.Optional(Type.String({
    minLength: 1,
    maxLength: Q_MAX,
    description: `1 to ${Q_MAX} characters: every word must begin a word of the link's URL (host and path), title or key`
  })),
  sort: Type.Optional(Type.Enum(['created', 'clicks'], { default: 'created', description: 'created (the default) or clicks' })),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { default: 'desc', description: 'desc (the default: newest or most clicked first) or asc' })),
  domain: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: 'a host of GET /api/v1/domains: only its links; every domain when absent' })),
  expired: Type.Optional(Type.Enum(['exclude', 'include'], {
    default: 'exclude', description: 'exclude (the default) or include: whether expired links are listed (each says so in expired)'
  }))
}, { additionalProperties: false })

export const QrQuery = Type.Object({
  format: Type.Optional(Type.Enum(['svg', 'png'], { default: 'svg', description: 'svg (the default) or png' })),
  ...DomainQueryField
}, { additionalProperties: false })

const exampleLink = {
  key: 'Xk3p9Qa',
  domain: 'localhost',
  shortUrl: 'http://localhost:8080/Xk3p9Qa',
  url: 'https://example.com/some/long/path?x=1',
  createdAt: '2026-11-22T10:00:00.000Z',
  expiresAt: null,
  title: null,
  tags: [],
  updatedAt: '2026-11-22T10:00:00.000Z',
  validFrom: null,
  maxClicks: null,
  fallbackUrl: null,
  disabled: false,
  forwardQuery: false,
  redirectStatus: null
}

const LinkFields = {
  key: Type.String(),
  domain: Type.String({ description: 'the host the link is served on (see GET /api/v1/domains)' }),
  shortUrl: Type.String(),
  url: Type.String(),
  createdAt: Type.String({ description: 'ISO-8601, UTC' }),
  expiresAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO-8601, UTC; null when the link never expires' }),
  title: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  updatedAt: Type.String({ description: 'ISO-8601, UTC: the last edit, or createdAt for a link never edited' }),
  validFrom: Type.Union([Type.String(), Type.Null()], { description: 'ISO-8601, UTC; null when the link redirects from the start' }),
  maxClicks: Type.Union([Type.Integer(), Type.Null()], { description: 'GETs that redirect to the target at most; null: no cap' }),
  fallbackUrl: Type.Union([Type.String(), Type.Null()], { description: 'where the link sends people when it may not redirect to its target' }),
  disabled: Type.Boolean(),
  forwardQuery: Type.Boolean({ description: 'whether the short URL\'s query string is merged into the target\'s' }),
  redirectStatus: Type.Union([Type.Integer(), Type.Null()], { description: '301, 302, 307 or 308; null: the service\'s' })
}

export const LinkBody = Type.Object(LinkFields, { description: 'The link', examples: [exampleLink, { ...exampleLink, key: 'spring-sale', shortUrl: 'http://localhost:8080/spring-sale', expiresAt: '2026-11-23T10:00:00.000Z' }] })

export const LinkWithClicksBody = Type.Object({ ...LinkFields, clicks: Type.Integer({ description: 'clicks by people, all days' }) }, {
  description: 'The link and its clicks; the ETag header holds its version',
  examples: [
    { ...exampleLink, clicks: 42 },
    { ...exampleLink, title: 'Spring sale', tags: ['campaign'], updatedAt: '2026-11-23T08:30:00.000Z', clicks: 42 }
  ]
})

const EditBody = Type.Object({
  version: Type.Integer({ description: 'the version the edit made; the link\'s ETag was "v<version>" after it' }),
  editedAt: Type.String({ description: 'ISO-8601, UTC' }),
  editedBy: Type.String({ description: 'the id of the API key that made the edit' }),
  before: Type.Record(Type.String(), Type.Unknown(), { description: 'the fields the edit sent, as they were before it' }),
  after: Type.Record(Type.String(), Type.Unknown(), { description: 'the same fields after it' })
})

export const HistoryBody = Type.Object({
  key: Type.String(),
  edits: Type.Array(EditBody, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' })
}, {
  description: 'The edits of the link',
  examples: [{
    key: 'Xk3p9Qa',
    edits: [{
      version: 1,
      editedAt: '2026-11-23T08:30:00.000Z',
      editedBy: 'ak_2b7f0c1a9e3d5f71',
      before: { url: 'https://example.com/some/long/path?x=1', title: null },
      after: { url: 'https://example.com/new/path', title: 'Spring sale' }
    }],
    nextCursor: null
  }]
})

const ListedLinkBody = Type.Object({
  ...LinkFields,
  expired: Type.Boolean({ description: 'true when the link has expired (listed only with expired=include)' }),
  clicks: Type.Integer({ description: 'clicks by people as of the key-worker\'s last fold of the link (every few seconds): what sort=clicks orders by' })
})

export const LinkPageBody = Type.Object({
  links: Type.Array(ListedLinkBody, { description: 'in the order asked for: newest first by default' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' })
}, {
  description: 'A page of your links; a page may hold fewer than limit links and still have a nextCursor',
  examples: [
    { links: [{ ...exampleLink, domain: 'localhost', expired: false, clicks: 42 }], nextCursor: 'eyJ0IjoxNzk1MzU2ODAwMDAwLCJrIjoiWGszcDlRYSJ9' },
    { links: [], nextCursor: null }
  ]
})

const ErrorFields = {
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String({ description: 'what was wrong, in words a person can act on' }),
  code: Type.Optional(Type.String({ description: 'stable, e.g. SW_ALIAS_TAKEN' }))
}

/** The error shape the common error handler sends. */
export const ErrorBody = Type.Object(ErrorFields)

const ClientErrorBody = Type.Object(ErrorFields, {
  description: 'The request cannot be served as sent; the message says why (401: no or a bad API key, 403: not yours, 404: no such link, 409: alias taken, 422: Idempotency-Key reused, 429: rate limit)',
  examples: [
    { statusCode: 400, error: 'Bad Request', message: 'url must be an absolute URL starting with http:// or https:// and naming a host', code: 'SW_INVALID_URL' },
    { statusCode: 400, error: 'Bad Request', message: 'url must point to a public host: 10.0.0.1 is a private network address (RFC 1918); an operator can allow internal networks with ALLOWED_TARGET_NETWORKS (CIDRs) and internal host names with ALLOWED_TARGET_HOSTS', code: 'SW_URL_PRIVATE_TARGET' },
    { statusCode: 404, error: 'Not Found', message: 'No link with the key "nope"', code: 'SW_LINK_NOT_FOUND' }
  ]
})

const UnavailableBody = Type.Object(ErrorFields, {
  description: 'A dependency is down; retry after Retry-After seconds',
  examples: [{ statusCode: 503, error: 'Service Unavailable', message: 'Cassandra is unavailable; retry shortly', code: 'SW_DEPENDENCY_UNAVAILABLE' }]
})

/** The error answers every API route may give. */
export const ErrorResponses = { '4xx': ClientErrorBody, 503: UnavailableBody }

export const BatchItemResult = Type.Union([
  Type.Object({ status: Type.Literal(201), link: LinkBody }),
  Type.Object({ status: Type.Integer({ minimum: 400, maximum: 599 }), error: ErrorBody })
])

export const BatchResultBody = Type.Object({
  results: Type.Array(BatchItemResult, { description: 'one per link sent, in the same order' })
}, {
  description: 'One result per link sent, in order',
  examples: [{
    results: [
      { status: 201, link: exampleLink },
      { status: 409, error: { statusCode: 409, error: 'Conflict', message: 'The alias "taken-alias" is already taken; choose another one', code: 'SW_ALIAS_TAKEN' } },
      { status: 429, error: { statusCode: 429, error: 'Too Many Requests', message: 'Too many requests; retry in 40 seconds', code: 'SW_RATE_LIMITED' } }
    ]
  }]
})

export const Deleted = Type.Null({ description: 'Deleted; every redirect answers 404 for the key within 5 seconds' })

export const QrImage = {
  description: 'A QR code of the short URL',
  content: {
    'image/svg+xml': { schema: Type.String() },
    'image/png': { schema: Type.Unsafe<Buffer>({ type: 'string', contentEncoding: 'binary' }) }
  }
}

export type LinkBodyT = Static<typeof LinkBody>

/** How a link's domain is shown: its host, and where its short URLs start (DomainService). */
export interface ShortUrls {
  hostOf: (domain: string | undefined) => string
  baseUrlOf: (domain: string | undefined) => string
}

export function toLinkBody (link: Link | StoredLink, urls: ShortUrls): LinkBodyT {
  return {
    key: link.key,
    domain: urls.hostOf(link.domain),
    shortUrl: `${urls.baseUrlOf(link.domain)}/${link.key}`,
    url: link.url,
    createdAt: link.createdAt.toISOString(),
    expiresAt: link.expiresAt?.toISOString() ?? null,
    title: link.title ?? null,
    tags: [...link.tags ?? []],
    updatedAt: ('updatedAt' in link && link.updatedAt !== null ? link.updatedAt : link.createdAt).toISOString(),
    validFrom: link.validFrom?.toISOString() ?? null,
    maxClicks: link.maxClicks ?? null,
    fallbackUrl: link.fallbackUrl ?? null,
    disabled: link.disabled ?? false,
    forwardQuery: link.forwardQuery ?? false,
    redirectStatus: link.redirectStatus ?? null
  }
}

/** A link of a listing: whether it expired, and its clicks as of the last fold. */
export function toListedBody (link: ListedLink, urls: ShortUrls): Static<typeof ListedLinkBody> {
  return { ...toLinkBody(link, urls), expired: link.expired, clicks: link.foldedClicks }
}

export function toLinkWithClicksBody (link: LinkWithClicks, urls: ShortUrls): Static<typeof LinkWithClicksBody> {
  return { ...toLinkBody(link, urls), clicks: link.clicks }
}

export function toHistoryBody (key: string, page: EditPage): Static<typeof HistoryBody> {
  const edits = page.edits.map((edit: LinkEdit) => ({
    version: edit.version,
    editedAt: edit.editedAt.toISOString(),
    editedBy: edit.editor,
    before: edit.before,
    after: edit.after
  }))
  return { key, edits, nextCursor: page.nextCursor }
}
