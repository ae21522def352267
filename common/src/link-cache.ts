import type { Redis } from 'ioredis'
import type { Link } from './link-repository.ts'
import { NEGATIVE, type RedisKeys } from './redis-keys.ts'

// The Redis cache of links, shared by create-service (write-through) and redirect-service
// (read-through). A cached entry never outlives its link: its TTL is capped at the expiry.

export interface CachedLink {
  url: string
  expiresAt: number | null
}

export type CacheLookup = { kind: 'hit', link: CachedLink } | { kind: 'negative' } | { kind: 'miss' }

export interface LinkCacheOptions {
  ttlSeconds: number
  negativeTtlSeconds: number
}

export function createLinkCache (redis: Redis, keys: RedisKeys, opts: LinkCacheOptions) {
  return {
    async get (key: string): Promise<CacheLookup> {
      const raw = await redis.get(keys.link(key))
      if (raw === null) return { kind: 'miss' }
      if (raw === NEGATIVE) return { kind: 'negative' }
      const parsed = JSON.parse(raw) as { u: string, e: number | null }
      return { kind: 'hit', link: { url: parsed.u, expiresAt: parsed.e } }
    },

    async set (link: Pick<Link, 'key' | 'url' | 'expiresAt'>, now = Date.now()): Promise<void> {
      const expiresAt = link.expiresAt ? link.expiresAt.getTime() : null
      const ttlMs = Math.min(opts.ttlSeconds * 1000, expiresAt === null ? Infinity : expiresAt - now)
      if (ttlMs <= 0) return
      await redis.set(keys.link(link.key), JSON.stringify({ u: link.url, e: expiresAt }), 'PX', Math.ceil(ttlMs))
    },

    async setNegative (key: string): Promise<void> {
      // NX: a negative entry must never replace a link create-service has just written through.
      await redis.set(keys.link(key), NEGATIVE, 'EX', opts.negativeTtlSeconds, 'NX')
    },

    async delete (key: string): Promise<void> {
      await redis.del(keys.link(key))
    }
  }
}
export type LinkCache = ReturnType<typeof createLinkCache>
