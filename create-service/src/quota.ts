import { normalizeIP } from '@fastify/rate-limit'
import { RateLimitedError } from '@shortwave/common/errors'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Rate } from './rate.ts'

// Quotas of the API: an API key has its own rate (stored with the key, or the configured default;
// admin keys may have none), anonymous callers one per client address. Each policy ("create",
// "read", ...) counts apart; the link creations of POST /api/v1/links and of a batch (one per
// item) share the "create" counter, so a batch is no way around it.
//
// Fixed windows counted in Redis: one INCRBY charges any number in one round trip. IPv6 clients
// are grouped by /64, rejected attempts count too, and Redis trouble lets requests through
// (creation must not depend on Redis).
//
// Answers carry the fields of the IETF httpapi draft (draft-ietf-httpapi-ratelimit-headers-11):
//   RateLimit-Policy: "create";q=600;w=60     the caller's quota and window, in seconds
//   RateLimit: "create";r=599;t=42            what is left of it, and seconds until the window ends
// and Retry-After on a 429. A caller without a limit gets neither: no policy applies to it.

// Returns the count after this charge and the milliseconds left in the window.
const CHARGE = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {current, ttl}
`

export interface QuotaOptions {
  redis: Redis
  /** Prefix of the counters (redisKeys().rateLimit). */
  namespace: string
  /** Per client address, for requests without an API key. */
  anonymous: Rate
  /** Of an API key that has no rate of its own. */
  apiKey: Rate
}

export interface Charge {
  /** How many of the requested units fit in the quota; the first ones do. */
  allowed: number
  retryAfterSeconds: number
}

/** "1 second", "40 seconds", "1 minute", "2 minutes": how the 429 message says when to retry. */
export function describeWait (seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = seconds / 60
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

/** The two fields of the draft for one policy; `remaining` and `resetSeconds` only once counted. */
export function rateLimitFields (
  policy: string, quota: number, windowSeconds: number, remaining?: number, resetSeconds?: number
): Record<string, string> {
  const fields: Record<string, string> = { 'ratelimit-policy': `"${policy}";q=${quota};w=${windowSeconds}` }
  if (remaining !== undefined && resetSeconds !== undefined) fields['ratelimit'] = `"${policy}";r=${remaining};t=${resetSeconds}`
  return fields
}

// Sent as EVALSHA: Redis neither receives nor hashes the script on every request (ioredis sends
// it once more by itself after a Redis restart empties the script cache).
const CHARGE_COMMAND = 'shortwaveChargeQuota'
type ChargeCommand = (key: string, count: number, windowMs: number) => Promise<[number, number]>

export function createQuotas (opts: QuotaOptions) {
  opts.redis.defineCommand(CHARGE_COMMAND, { numberOfKeys: 1, lua: CHARGE })
  const chargeCommand = (opts.redis as unknown as Record<string, ChargeCommand>)[CHARGE_COMMAND]!.bind(opts.redis)

  /** Whose quota a request uses, and its rate: the API key's, or the client address's (nginx's, through trustProxy). */
  function clientOf (request: FastifyRequest): { client: string, rate: Rate } {
    const caller = request.caller
    if (caller === null) return { client: `ip:${normalizeIP(request.ip)}`, rate: opts.anonymous }
    return { client: `key:${caller.id}`, rate: caller.rate === 'default' ? opts.apiKey : caller.rate }
  }

  /** A policy counted apart from the others; `scale` multiplies every rate (reads are cheaper than writes). */
  return function policy (name: string, scale = 1) {
    async function charge (request: FastifyRequest, reply: FastifyReply, count: number): Promise<Charge> {
      const { client, rate } = clientOf(request)
      if (rate === null) return { allowed: count, retryAfterSeconds: 0 }
      const quota = rate.quota * scale
      const windowMs = rate.windowSeconds * 1000
      let result: [number, number]
      try {
        result = await chargeCommand(`${opts.namespace}${name}:${client}`, count, windowMs)
      } catch (err) {
        request.log.warn({ err: (err as Error).message }, 'rate limit unavailable; letting the request through')
        reply.headers(rateLimitFields(name, quota, rate.windowSeconds))
        return { allowed: count, retryAfterSeconds: 0 }
      }
      const [current, ttlMs] = result
      const allowed = Math.max(0, Math.min(count, quota - (current - count)))
      const resetSeconds = Math.max(1, Math.ceil(ttlMs / 1000))
      reply.headers(rateLimitFields(name, quota, rate.windowSeconds, Math.max(0, quota - current), resetSeconds))
      if (allowed < count) reply.header('retry-after', resetSeconds)
      return { allowed, retryAfterSeconds: resetSeconds }
    }

    return {
      charge,

      /** onRequest hook of a route that costs one unit: 429 when the quota is spent. */
      async chargeOne (request: FastifyRequest, reply: FastifyReply): Promise<void> {
        const { allowed, retryAfterSeconds } = await charge(request, reply, 1)
        if (allowed === 0) throw new RateLimitedError(describeWait(retryAfterSeconds))
      }
    }
  }
}
export type Quotas = ReturnType<typeof createQuotas>
export type QuotaPolicy = ReturnType<Quotas>
