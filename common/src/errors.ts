import createError from '@fastify/error'
import cassandra from 'cassandra-driver'

// Every error a client can see has a stable code and an HTTP status; they are mapped to
// responses in one place (plugins/error-handler.ts).

export const InvalidUrlError = createError<[string]>('SW_INVALID_URL', '%s', 400)
/** A link target on a loopback, private, link-local or metadata address (design.md invariant 8). */
export const PrivateTargetError = createError<[string]>('SW_URL_PRIVATE_TARGET', '%s', 400)
/** With RESOLVE_TARGETS on: the target's host name has no address, so it cannot be shown to be public. */
export const UnresolvableTargetError = createError<[string]>('SW_URL_UNRESOLVABLE', '%s', 400)
export const InvalidAliasError = createError<[string]>('SW_INVALID_ALIAS', '%s', 400)
export const InvalidExpiryError = createError<[string]>('SW_INVALID_EXPIRY', '%s', 400)
/** A lifecycle field that is well-formed but cannot hold (validFrom not before the expiry, …). */
export const InvalidValidFromError = createError<[string]>('SW_INVALID_VALID_FROM', '%s', 400)
export const AliasTakenError = createError<[string]>('SW_ALIAS_TAKEN', 'The alias "%s" is already taken; choose another one', 409)
export const LinkNotFoundError = createError<[string]>('SW_LINK_NOT_FOUND', 'No link with the key "%s"', 404)
/** A `?domain=` that names no registered domain (nor the default one); the argument is the message. */
export const DomainNotFoundError = createError<[string]>('SW_DOMAIN_NOT_FOUND', '%s', 404)
/** A list query parameter that is well-formed but cannot be answered (a q without a word to look up). */
export const InvalidListQueryError = createError<[string]>('SW_INVALID_LIST_QUERY', '%s', 400)
/** A `domain` (body) or `host` that is not a host name, or not a registered one. */
export const InvalidDomainError = createError<[string]>('SW_INVALID_DOMAIN', '%s', 400)
export const DomainExistsError = createError<[string]>('SW_DOMAIN_EXISTS', 'The domain "%s" is registered already', 409)
/** The default domain is configuration (PUBLIC_BASE_URL), not a registry row: it cannot be deleted or registered. */
export const DefaultDomainError = createError<[string]>('SW_DEFAULT_DOMAIN', '%s', 409)
/** A stats query whose from/to or by cannot be answered (from after to, a range too long, by=link on one link). */
export const InvalidStatsQueryError = createError<[string]>('SW_INVALID_STATS_QUERY', '%s', 400)
/** A purge of the link's statistics is already running (DELETE …/stats twice at once would subtract twice). */
export const PurgeRunningError = createError<[string]>('SW_PURGE_RUNNING', '%s', 409)
export const UnauthorizedError = createError<[string]>('SW_UNAUTHORIZED', '%s', 401)
export const ForbiddenError = createError<[string]>('SW_FORBIDDEN', '%s', 403)
/** An If-Match that names none of the link's current ETag: it changed since the client read it. */
export const PreconditionFailedError = createError<[string]>('SW_PRECONDITION_FAILED', '%s', 412)
/** Edits without If-Match kept losing to concurrent ones; a retry usually goes through. */
export const EditConflictError = createError<[string]>('SW_EDIT_CONFLICT', 'The link "%s" kept changing while it was being edited; retry', 409)
export const UnsupportedMediaTypeError = createError<[string]>('SW_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const InvalidCursorError = createError<[string]>('SW_INVALID_CURSOR', '%s', 400)
export const InvalidIdempotencyKeyError = createError<[string]>('SW_INVALID_IDEMPOTENCY_KEY', '%s', 400)
/** A request with this Idempotency-Key is still being answered; the retry should come a moment later. */
export const IdempotencyInProgressError = createError<[string]>('SW_IDEMPOTENCY_IN_PROGRESS', '%s', 409)
export const IdempotencyKeyReusedError = createError<[string]>('SW_IDEMPOTENCY_KEY_REUSED', '%s', 422)
/** An import body that cannot be read as a whole (not CSV, no rows, a layout that cannot be told). */
export const InvalidImportError = createError<[string]>('SW_INVALID_IMPORT', '%s', 400)
/** An import body over the size or row limit (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS). */
export const ImportTooLargeError = createError<[string]>('SW_IMPORT_TOO_LARGE', '%s', 413)
export const ImportNotFoundError = createError<[string]>('SW_IMPORT_NOT_FOUND', 'No import with the id "%s"', 404)
/** Another import of the same API key is still running; its rows would race this one's. */
export const ImportRunningError = createError<[string]>('SW_IMPORT_RUNNING', '%s', 409)
/** A webhook registration that cannot hold (a secret not in the whsec_ form, no events). */
export const InvalidWebhookError = createError<[string]>('SW_INVALID_WEBHOOK', '%s', 400)
/** No webhook with this id, or not one the caller may see (another key's reads as absent). */
export const WebhookNotFoundError = createError<[string]>('SW_WEBHOOK_NOT_FOUND', 'No webhook with the id "%s"', 404)
export const TooManyWebhooksError = createError<[number]>('SW_TOO_MANY_WEBHOOKS', 'An API key may register at most %d webhooks; delete one first', 409)
/** No API key with this id (GET/PATCH/DELETE /api/v1/keys/{id}). */
export const ApiKeyNotFoundError = createError<[string]>('SW_API_KEY_NOT_FOUND', 'No API key with the id "%s"', 404)
/** A rate an API key cannot have: past the largest quota, or unlimited for a user key. */
export const InvalidApiKeyRateError = createError<[string]>('SW_INVALID_API_KEY_RATE', '%s', 400)
/** An admin key revoking itself: it would lock its caller out mid-session, possibly the last admin. */
export const OwnApiKeyError = createError<[string]>('SW_OWN_API_KEY', '%s', 409)
/** The argument says when to retry, in words ("1 minute"); the Retry-After header says it in seconds. */
export const RateLimitedError = createError<[string]>('SW_RATE_LIMITED', 'Too many requests; retry in %s', 429)

const MethodNotAllowed = createError<[string, string]>('SW_METHOD_NOT_ALLOWED', '%s is not allowed here; this path answers %s', 405)
/** A path that exists, asked with a method it does not answer; `allow` (the ones it does) becomes the Allow header. */
export class MethodNotAllowedError extends MethodNotAllowed {
  readonly allow: string
  constructor (method: string, allow: readonly string[]) {
    super(method, allow.join(', '))
    this.allow = allow.join(', ')
  }
}

/** A dependency (Cassandra, Redis) cannot serve the request now; the client should retry later. */
export const DependencyUnavailableError = createError<[string, { cause: unknown }?]>('SW_DEPENDENCY_UNAVAILABLE', '%s is unavailable; retry shortly', 503)

/**
 * Every generated key create-service tried itself was taken: with keys of a sane length that
 * means the store answers strangely, or keys ran out under a too-small KEY_LENGTH; a retry may
 * find the pool refilled.
 */
export const NoFreeKeyError = createError<[number]>('SW_NO_FREE_KEY', 'No free key after %d attempts; retry shortly', 503)

const { errors: driverErrors, types } = cassandra

// A server error is Cassandra failing inside (an exception on the node, a node shutting down), not
// a fault of the query: the next attempt, or another coordinator, usually succeeds.
const unavailableCodes = new Set<number>([
  types.responseErrorCodes.serverError,
  types.responseErrorCodes.truncateError,
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readFailure,
  types.responseErrorCodes.writeFailure
])

/** True for Cassandra driver errors that mean "the cluster can't answer now", not "your query is wrong". */
export function isCassandraUnavailable (error: unknown): boolean {
  if (error instanceof driverErrors.NoHostAvailableError) return true
  if (error instanceof driverErrors.OperationTimedOutError) return true
  if (error instanceof driverErrors.BusyConnectionError) return true
  if (error instanceof driverErrors.ResponseError) return unavailableCodes.has(error.code)
  // "Socket was closed": the node died with the request in flight (a crash, a kill, a reset).
  // The driver retries only idempotent statements elsewhere; the rest surface here.
  const isSocketError = (error as { isSocketError?: boolean }).isSocketError === true
  if (error instanceof driverErrors.DriverError && isSocketError) return true
  return false
}
