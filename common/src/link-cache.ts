import type { Redis } from 'ioredis'
import { scopedKeyOf, type Link } from './link-repository.ts'
import { hasRules, packRules, rulesOf, unpackRules, type LinkRules, type PackedRules, type RuleFields } from './link-rules.ts'
import { NEGATIVE, type RedisKeys } from './redis-keys.ts'

// The Redis cache of links, shared by create-service (write-through) and redirect-service
// (read-through). A cached entry never outlives its link: its TTL is capped at the expiry, or,
// for an edited link, the entry carries the expiry and readers treat it as gone from then on.
//
// An entry is JSON {u: url, e: expiry in epoch ms or null}, plus v, the link's version, once the
// link has been edited: the entry of a link never edited is the same bytes as before edits existed.
// Likewise r, the link's rules (link-rules.ts, only those set), appears only on a link that sets any.
//
// An expired link is cached too, for the negative TTL: redirects answer it 410 (or send it to its
// fallback) rather than 404, without asking Cassandra each time.

export interface CachedLink {
  url: string
  expiresAt: number | null
  /** null when the link sets no rule. */
  rules: LinkRules | null
}

export type CacheLookup = { kind: 'hit', link: CachedLink } | { kind: 'negative' } | { kind: 'miss' }

// Entries are named by the link's scoped key (domains.ts): a default-domain link's name is its key.
type CacheableLink = Pick<Link, 'key' | 'domain' | 'url' | 'expiresAt' | 'version'> & RuleFields

// An edit's entry replaces what is cached unless that is newer: an entry of a later version (two
// edits whose writes reach Redis out of order), or a delete's tombstone. Entries without v are
// version 0. What is not JSON is not ours to judge, and is replaced.
const REPLACE_UNLESS_NEWER = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[4] then return 0 end
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and (tonumber(entry.v) or 0) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`

export interface LinkCacheOptions {
  ttlSeconds: number
  negativeTtlSeconds: number
}

interface Entry {
  u: string
  e: number | null
  v?: number
  r?: PackedRules
}

export function createLinkCache (redis: Redis, keys: RedisKeys, opts: LinkCacheOptions) {
  return {
    async get (key: string): Promise<CacheLookup> {
      const raw = await redis.get(keys.link(key))
      if (raw === null) return { kind: 'miss' }
      if (raw === NEGATIVE) return { kind: 'negative' }
      const parsed = JSON.parse(raw) as Entry
      return { kind: 'hit', link: { url: parsed.u, expiresAt: parsed.e, rules: parsed.r ? unpackRules(parsed.r) : null } }
    },

    /** Write-through by the creator of the link: replaces whatever is cached, a stale negative entry included. */
    async set (link: CacheableLink, now = Date.now()): Promise<void> {
      const entry = positive(link, now)
      await redis.set(keys.link(scopedKeyOf(link)), entry.value, 'PX', entry.ttlMs)
    },

    /**
     * Read-through by a reader that found nothing cached: writes only into an empty slot (NX).
     * What appeared meanwhile is newer than the reader's Cassandra read — a fresh link, or the
     * tombstone of a delete that happened during that read, which must not be overwritten.
     */
    async fill (link: CacheableLink, now = Date.now()): Promise<void> {
      const entry = positive(link, now)
      await redis.set(keys.link(scopedKeyOf(link)), entry.value, 'PX', entry.ttlMs, 'NX')
    },

    /**
     * Write-through by the editor of a link, at the version the edit produced. The entry lives as
     * long as any entry may, whatever the link's expiry, so that, like a delete's tombstone, it
     * keeps the slot taken for as long as a reader that read the link before the edit could still
     * fill() it with what it read: an entry gone at a shortened expiry would let that reader
     * bring back the old link, old expiry included. False when a newer entry was kept.
     */
    async replace (link: CacheableLink & { version: number }): Promise<boolean> {
      const value = JSON.stringify(entryOf(link))
      const ttlMs = opts.ttlSeconds * 1000
      const key = keys.link(scopedKeyOf(link))
      const written = await redis.eval(REPLACE_UNLESS_NEWER, 1, key, value, link.version, ttlMs, NEGATIVE)
      return written === 1
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

  function positive (link: Omit<CacheableLink, 'key' | 'domain'>, now: number): { value: string, ttlMs: number } {
    const entry = entryOf(link)
    const ttlMs = Math.min(opts.ttlSeconds * 1000, entry.e === null ? Infinity : entry.e - now)
    // Expired: kept as briefly as a negative entry, so its redirects say 410 without Cassandra.
    return { value: JSON.stringify(entry), ttlMs: ttlMs > 0 ? Math.ceil(ttlMs) : opts.negativeTtlSeconds * 1000 }
  }

  function entryOf (link: Omit<CacheableLink, 'key' | 'domain'>): Entry {
    const e = link.expiresAt ? link.expiresAt.getTime() : null
    const entry: Entry = link.version ? { u: link.url, e, v: link.version } : { u: link.url, e }
    const rules = rulesOf(link)
    if (hasRules(rules)) entry.r = packRules(rules)
    return entry
  }
}
export type LinkCache = ReturnType<typeof createLinkCache>
