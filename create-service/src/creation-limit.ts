import { normalizeIP } from '@fastify/rate-limit'
import { RateLimitedError } from '@shortwave/common/errors'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'

// One budget of link creations per client and window, shared by POST /api/v1/links (one charge)
// and POST /api/v1/links/batch (one charge per item), so a batch is no way around the limit.
// @fastify/rate-limit charges one per request and keeps a counter per route; this charges any
// number in one round trip (INCRBY) against a counter both routes share. It follows the
// plugin's rules otherwise: fixed windows, IPv6 clients grouped by /64, rejected attempts
// counted too, and Redis trouble lets requests through (creation must not depend on Redis).

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

export interface CreationLimitOptions {
  redis: Redis
  /** Prefix of the counters (redisKeys().rateLimit). */
  namespace: string
  max: number
  windowMs: number
}

export interface Charge {
  /** How many of the requested creations fit in the budget; the first ones do. */
  allowed: number
  retryAfterSeconds: number
}

/** "1 second", "40 seconds", "1 minute", "2 minutes": how the 429 message says when to retry. */
export function describeWait (seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = seconds / 60
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

/** API keys are limited per key, anonymous callers per address (nginx's, through trustProxy). */
function clientOf (request: FastifyRequest): string {
  return request.caller !== null ? `key:${request.caller.id}` : `ip:${normalizeIP(request.ip)}`
}

// Sent as EVALSHA: Redis neither receives nor hashes the script on every create (ioredis sends
// it once more by itself after a Redis restart empties the script cache).
const CHARGE_COMMAND = 'shortwaveChargeCreation'
type ChargeCommand = (key: string, count: number, windowMs: number) => Promise<[number, number]>

export function createCreationLimit (opts: CreationLimitOptions) {
  opts.redis.defineCommand(CHARGE_COMMAND, { numberOfKeys: 1, lua: CHARGE })
  const chargeCommand = (opts.redis as unknown as Record<string, ChargeCommand>)[CHARGE_COMMAND]!.bind(opts.redis)

  async function charge (request: FastifyRequest, reply: FastifyReply, count: number): Promise<Charge> {
    let result: [number, number]
    try {
      result = await chargeCommand(`${opts.namespace}create:${clientOf(request)}`, count, opts.windowMs)
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'rate limit unavailable; letting the request through')
      return { allowed: count, retryAfterSeconds: 0 }
    }
    const [current, ttlMs] = result
    const before = current - count
    const allowed = Math.max(0, Math.min(count, opts.max - before))
    const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000))
    reply.header('x-ratelimit-limit', opts.max)
    reply.header('x-ratelimit-remaining', Math.max(0, opts.max - current))
    reply.header('x-ratelimit-reset', retryAfterSeconds)
    if (allowed < count) reply.header('retry-after', retryAfterSeconds)
    return { allowed, retryAfterSeconds }
  }

  return {
    charge,

    /** onRequest hook of a single create: one charge, 429 when over the limit. */
    async chargeOne (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const { allowed, retryAfterSeconds } = await charge(request, reply, 1)
      if (allowed === 0) throw new RateLimitedError(describeWait(retryAfterSeconds))
    }
  }
}
export type CreationLimit = ReturnType<typeof createCreationLimit>
