import { ForbiddenError, UnauthorizedError } from '@shortwave/common/errors'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { canBeSecret, hashSecret, type ApiKey, type ApiKeyRole, type KeyRate } from './api-keys.ts'

/** Who a request acts for: the API key it carried. Anonymous requests have none. */
export interface Caller {
  id: string
  name: string
  role: ApiKeyRole
  rate: KeyRate
}

export interface CallerLookupOptions {
  /** How long an answer (a key, or "no such key") is reused: the longest a revocation takes to bite. */
  ttlMs: number
  /** Answers kept at most; the oldest go first. */
  max: number
  now?: () => number
}

interface Answer {
  until: number
  caller: Promise<Caller | null>
  /** The key's id once the read answered (null: no such key, or revoked); undefined while it runs. */
  id?: string | null
}

/**
 * Finds the caller behind a secret. Answers are kept briefly in memory, so a busy client costs
 * one Cassandra read per TTL rather than one per request; concurrent requests with one key
 * share that read. `forget(id)` drops what this replica knows of a key that was just revoked or
 * changed here, so its next request reads it again; other replicas notice within the TTL.
 */
export function createCallerLookup (findByHash: (hash: string) => Promise<ApiKey | null>, opts: CallerLookupOptions) {
  const now = opts.now ?? Date.now
  const answers = new Map<string, Answer>()

  function lookup (secret: string): Promise<Caller | null> {
    if (!canBeSecret(secret)) return Promise.resolve(null)
    const hash = hashSecret(secret)
    const at = now()
    const known = answers.get(hash)
    if (known !== undefined && known.until > at) return known.caller
    const caller = findByHash(hash).then((key) => key === null || key.revokedAt !== null
      ? null
      : { id: key.id, name: key.name, role: key.role, rate: key.rate })
    if (opts.ttlMs > 0) {
      answers.delete(hash)
      if (answers.size >= opts.max) answers.delete(answers.keys().next().value!)
      const entry: Answer = { until: at + opts.ttlMs, caller }
      answers.set(hash, entry)
      // A failed read (Cassandra down) is not an answer: the next request asks again.
      caller.then(
        (found) => { entry.id = found?.id ?? null },
        () => { if (answers.get(hash) === entry) answers.delete(hash) }
      )
    }
    return caller
  }

  function forget (id: string): void {
    // A read still running may have started before the change: it goes too.
    for (const [hash, entry] of answers) if (entry.id === id || entry.id === undefined) answers.delete(hash)
  }

  return Object.assign(lookup, { forget })
}
export type CallerLookup = ReturnType<typeof createCallerLookup>

/** The token of an `Authorization: Bearer <token>` header, or null for any other form. */
export function bearerToken (header: string): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header)
  return match ? match[1]! : null
}

/** A 401 with the WWW-Authenticate challenge RFC 6750 asks for. */
export function unauthorized (reply: FastifyReply, message: string, invalidToken = false): never {
  reply.header('www-authenticate', invalidToken ? 'Bearer error="invalid_token"' : 'Bearer')
  throw new UnauthorizedError(message)
}

/** An onRequest hook refusing anonymous requests; `action` completes "an API key is required to …". */
export function requireCaller (action: string) {
  return async function callerRequired (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.caller === null) unauthorized(reply, `an API key is required to ${action}: send Authorization: Bearer <api key>`)
  }
}

/** An onRequest hook after requireCaller, refusing all but admin keys; `action` ends "only an admin API key may …". */
export function requireAdmin (action: string) {
  return async function adminRequired (request: FastifyRequest): Promise<void> {
    if (request.caller?.role !== 'admin') throw new ForbiddenError(`only an admin API key may ${action}`)
  }
}

/** True when the caller may act on a link with this owner: its own, or any link for an admin key. */
export function mayManage (caller: Caller, owner: string | null): boolean {
  return caller.role === 'admin' || (owner !== null && owner === caller.id)
}
