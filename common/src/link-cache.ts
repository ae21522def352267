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

    /** Write-through by the creator of the link: replaces whatever is cached, a stale negative entry included. */
    async set (link: Pick<Link, 'key' | 'url' | 'expiresAt'>, now = Date.now()): Promise<void> {
      const entry = positive(link, now)
      if (entry) await redis.set(keys.link(link.key), entry.value, 'PX', entry.ttlMs)
    },

    /**
     * Read-through by a reader that found nothing cached: writes only into an empty slot (NX).
     * What appeared meanwhile is newer than the reader's Cassandra read — a fresh link, or the
     * tombstone of a delete that happened during that read, which must not be overwritten.
     */
    async fill (link: Pick<Link, 'key' | 'url' | 'expiresAt'>, now = Date.now()): Promise<void> {
      const entry = positive(link, now)
      if (entry) await redis.set(keys.link(link.key), entry.value, 'PX', entry.ttlMs, 'NX')
    },

    async setNegative (key: string): Promise<void> {
      // NX: a negative entry must never replace a link create-service has just written through.
      await redis.set(keys.link(key), NEGATIVE, 'EX', opts.negativeTtlSeconds, 'NX')
    },

    async delete (key: string): Promise<void> {
      await redis.del(keys.link(key))
    },

    /**
     * Marks a deleted link as gone, replacing any cached copy. It lives as long as a positive
     * entry may, so no reader's late fill() can bring the link back; keys are never reused, so
     * "gone" stays true.
     */
    async tombstone (key: string): Promise<void> {
      await redis.set(keys.link(key), NEGATIVE, 'EX', opts.ttlSeconds)
    }
  }

  function positive (link: Pick<Link, 'url' | 'expiresAt'>, now: number): { value: string, ttlMs: number } | null {
    const expiresAt = link.expiresAt ? link.expiresAt.getTime() : null
    const ttlMs = Math.min(opts.ttlSeconds * 1000, expiresAt === null ? Infinity : expiresAt - now)
    return ttlMs > 0 ? { value: JSON.stringify({ u: link.url, e: expiresAt }), ttlMs: Math.ceil(ttlMs) } : null
  }
}
export type LinkCache = ReturnType<typeof createLinkCache>
