import {
  IdempotencyInProgressError, IdempotencyKeyReusedError, InvalidIdempotencyKeyError
} from '@shortwave/common/errors'
import { IDEMPOTENT } from '@shortwave/common/link-repository'
import type cassandra from 'cassandra-driver'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

// `Idempotency-Key` on a create: a retry with the same key, from the same caller, within 24 hours
// gets the first answer again (status, body, Location) and creates nothing; the same key with
// another body is a 422. The first request reserves the key with a lightweight transaction, so
// of concurrent duplicates exactly one runs; the others wait briefly for its answer.
//
// Only answers are kept: 2xx and 4xx (a 409 for a taken alias is an answer too). A 5xx or 429
// says "try again", so the reservation is dropped and a retry runs afresh. A reservation whose
// request never finished (the process died) expires after RESERVATION_TTL_SECONDS.

declare module 'fastify' {
  interface FastifyRequest {
    /** The reservation this request holds, to be completed with its answer. */
    idempotency: Reservation | null
  }
}

export const ANSWER_TTL_SECONDS = 86_400
const RESERVATION_TTL_SECONDS = 60
const POLL_MS = 100
// Visible ASCII: what clients send (UUIDs, hashes, "order-42-attempt") and what logs can show.
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/

export interface Reservation {
  id: string
  requestHash: string
  createdAt: Date
}

export interface StoredAnswer {
  status: number
  body: string
  location: string | null
}

export type Outcome =
  | { kind: 'reserved', reservation: Reservation }
  | { kind: 'replay', answer: StoredAnswer }
  | { kind: 'mismatch' }
  | { kind: 'busy' }

const Q = {
  reserve: 'INSERT INTO idempotency_keys (id, request_hash, created_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?',
  read: 'SELECT request_hash, status, body, location FROM idempotency_keys WHERE id = ?',
  // Conditional as well: Paxos orders it after the reservation whatever the clocks say.
  complete: 'UPDATE idempotency_keys USING TTL ? SET request_hash = ?, created_at = ?, status = ?, body = ?, location = ? WHERE id = ? IF request_hash = ?',
  release: 'DELETE FROM idempotency_keys WHERE id = ? IF status = null'
} as const

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** JSON with object keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>
    return `{${Object.keys(object).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

function judge (row: cassandra.types.Row, requestHash: string): Outcome {
  if (row['request_hash'] !== requestHash) return { kind: 'mismatch' }
  if (row['status'] == null) return { kind: 'busy' }
  return { kind: 'replay', answer: { status: row['status'] as number, body: row['body'] as string, location: (row['location'] as string | null) ?? null } }
}

export function createIdempotencyStore (client: cassandra.Client) {
  async function reserve (id: string, requestHash: string): Promise<Outcome> {
    const createdAt = new Date()
    const params = [id, requestHash, createdAt, RESERVATION_TTL_SECONDS]
    const result = await client.execute(Q.reserve, params, { prepare: true })
    if (result.wasApplied()) return { kind: 'reserved', reservation: { id, requestHash, createdAt } }
    return judge(result.first(), requestHash)
  }

  return {
    /**
     * Reserves the key for this request, or says what became of the earlier one (waiting up to
     * waitMs while it runs).
     */
    async begin (id: string, requestHash: string, waitMs: number): Promise<Outcome> {
      const deadline = Date.now() + waitMs
      let outcome = await reserve(id, requestHash)
      while (outcome.kind === 'busy' && Date.now() < deadline) {
        await sleep(POLL_MS)
        // The one statement here that may be retried on another node: the others are Paxos rounds.
        const row = (await client.execute(Q.read, [id], IDEMPOTENT)).first()
        // Gone: the first request failed and let go of it, so this one may run.
        outcome = row ? judge(row, requestHash) : await reserve(id, requestHash)
      }
      return outcome
    },

    async complete (reservation: Reservation, answer: StoredAnswer): Promise<boolean> {
      const result = await client.execute(Q.complete, [
        ANSWER_TTL_SECONDS, reservation.requestHash, reservation.createdAt, answer.status, answer.body, answer.location,
        reservation.id, reservation.requestHash
      ], { prepare: true })
      return result.wasApplied()
    },

    async release (reservation: Reservation): Promise<void> {
      await client.execute(Q.release, [reservation.id], { prepare: true })
    }
  }
}
export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>

export interface IdempotencyHooksOptions {
  store: IdempotencyStore
  /** Names the operation, so one key used on two routes means two things. */
  operation: string
  /** How long a duplicate waits for the first request's answer before a 409. */
  waitMs: number
}

/** preHandler and onSend hooks that make a route idempotent under the Idempotency-Key header. */
export function idempotencyHooks (opts: IdempotencyHooksOptions) {
  const { store } = opts

  return {
    async preHandler (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const key = request.headers['idempotency-key']
      if (key === undefined) return
      if (typeof key !== 'string' || !KEY_SHAPE.test(key)) {
        throw new InvalidIdempotencyKeyError('Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice), sent once')
      }
      // Anonymous callers are told apart by address, as the rate limit does.
      const scope = request.caller !== null ? `key:${request.caller.id}` : `ip:${request.ip}`
      const id = sha256(`${opts.operation}\n${scope}\n${key}`)
      const outcome = await store.begin(id, sha256(canonicalJson(request.body)), opts.waitMs)
      switch (outcome.kind) {
        case 'reserved':
          request.idempotency = outcome.reservation
          return
        case 'replay': {
          const { answer } = outcome
          if (answer.location !== null) reply.header('location', answer.location)
          reply.header('idempotent-replayed', 'true')
          return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
        }
        case 'mismatch':
          throw new IdempotencyKeyReusedError('this Idempotency-Key was already used with a different request body; use a new key for a new request')
        case 'busy':
          reply.header('retry-after', '1')
          throw new IdempotencyInProgressError('a request with this Idempotency-Key is still being processed; retry in a moment')
      }
    },

    async onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
      const reservation = request.idempotency
      if (reservation === null) return payload
      request.idempotency = null
      const status = reply.statusCode
      try {
        if (status >= 500 || status === 429) {
          await store.release(reservation)
        } else {
          const location = reply.getHeader('location')
          await store.complete(reservation, { status, body: String(payload), location: typeof location === 'string' ? location : null })
        }
      } catch (err) {
        // The answer still goes out; a retry within the reservation's minute gets a 409, later it runs again.
        request.log.warn({ err: (err as Error).message, status }, 'could not store the answer for the Idempotency-Key')
      }
      return payload
    }
  }
}
