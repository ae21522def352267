import type { CacheLookup, LinkCache } from '@shortwave/common/link-cache'
import type { LinkRepository } from '@shortwave/common/link-repository'
import { hasRules, NO_RULES, rulesOf, type LinkRules } from '@shortwave/common/link-rules'
import { LRUCache } from 'lru-cache'
import { performance } from 'node:perf_hooks'
import { toLocationHeader } from './location.ts'

// Where a redirect finds its link: this process's LRU, then Redis, then Cassandra. Every layer
// caches misses briefly too, and no cached entry ever outlives the link it holds; an expired link
// is kept as briefly as a miss, so that its redirects can say it is gone (410).
//
// Links are named by their scoped key (domains.ts): the key itself on the default domain, host/key
// on another, in every layer and in the invalidation messages alike.

export interface ResolvedLink {
  url: string
  /** Epoch milliseconds, or null for a link that never expires. */
  expiresAt: number | null
  /** The Location header value, computed once per cache fill rather than per redirect. */
  location: string
  /**
   * null for a live link that sets no rule: the redirect checks nothing. An expired link always
   * has rules (NO_RULES at least), so it leaves that path and is answered 410 or sent to its fallback.
   */
  rules: LinkRules | null
  /** The Location header value of rules.fallbackUrl, computed once per fill too; null without one. */
  fallbackLocation: string | null
}

export interface LinkResolverOptions {
  cache: Pick<LinkCache, 'get' | 'fill' | 'setNegative'>
  repository: Pick<LinkRepository, 'findScoped'>
  localMax: number
  localTtlMs: number
  localNegativeTtlMs: number
  now?: () => number
  /**
   * How long each read of Redis and of Cassandra took, failed ones included: the redirects that
   * are not answered from memory wait exactly this long, so their tail is found here.
   */
  onRead?: (store: 'redis' | 'cassandra', seconds: number) => void
}

export interface LookupStats {
  /** Answers by source; negative answers included. */
  local: number
  redis: number
  cassandra: number
  /** Redis reads and writes that failed or timed out (the lookup carried on without Redis). */
  cacheErrors: number
}

/**
 * A lookup under way. `superseded`: the key was evicted meanwhile, so what it read may predate the
 * delete or edit the eviction announced; it answers its own callers but is not remembered.
 */
interface Lookup {
  answer: Promise<ResolvedLink | null>
  superseded: boolean
}

// lru-cache stores no null, so "known not to exist" is this marker.
const ABSENT: unique symbol = Symbol('absent')
type LocalEntry = ResolvedLink | typeof ABSENT

function isExpired (expiresAt: number | null, at: number): boolean {
  return expiresAt !== null && expiresAt <= at
}

export function createLinkResolver (opts: LinkResolverOptions) {
  const now = opts.now ?? Date.now
  const stats: LookupStats = { local: 0, redis: 0, cassandra: 0, cacheErrors: 0 }
  const local = new LRUCache<string, LocalEntry>({ max: opts.localMax })
  const inFlight = new Map<string, Lookup>()
  const countCacheError = (): void => { stats.cacheErrors++ }

  function remember (key: string, link: ResolvedLink | null, at: number): void {
    // lru-cache reads a TTL of 0 as "forever", so anything under 1 ms is not cached at all.
    const ttl = link === null || isExpired(link.expiresAt, at)
      ? opts.localNegativeTtlMs
      : Math.floor(Math.min(opts.localTtlMs, link.expiresAt === null ? Infinity : link.expiresAt - at))
    if (ttl >= 1) local.set(key, link ?? ABSENT, { ttl })
  }

  function prepare (url: string, expiresAt: number | null, rules: LinkRules | null, at: number): ResolvedLink {
    const fallbackUrl = rules?.fallbackUrl ?? null
    return {
      url,
      expiresAt,
      location: toLocationHeader(url),
      rules: rules ?? (isExpired(expiresAt, at) ? NO_RULES : null),
      fallbackLocation: fallbackUrl === null ? null : toLocationHeader(fallbackUrl)
    }
  }

  const onRead = opts.onRead ?? (() => {})

  async function timed<T> (store: 'redis' | 'cassandra', read: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await read()
    } finally {
      onRead(store, (performance.now() - started) / 1000)
    }
  }

  async function fromRedis (key: string): Promise<CacheLookup | null> {
    try {
      return await timed('redis', () => opts.cache.get(key))
    } catch {
      countCacheError()
      return null
    }
  }

  function fromCache (key: string, cached: Exclude<CacheLookup, { kind: 'miss' }>, self: Pick<Lookup, 'superseded'>): ResolvedLink | null {
    stats.redis++
    const at = now()
    const link = cached.kind === 'hit' ? prepare(cached.link.url, cached.link.expiresAt, cached.link.rules, at) : null
    if (!self.superseded) remember(key, link, at)
    return link
  }

  async function lookup (key: string, self: Pick<Lookup, 'superseded'>): Promise<ResolvedLink | null> {
    const cached = await fromRedis(key)
    if (cached !== null && cached.kind !== 'miss') return fromCache(key, cached, self)

    let stored: Awaited<ReturnType<typeof opts.repository.findScoped>>
    try {
      stored = await timed('cassandra', () => opts.repository.findScoped(key))
    } catch (error) {
      // Both stores failed. Redis' failure may have been a moment's slowness (its command timeout
      // on a loaded host) rather than an outage, and a cached link is the one thing that can still
      // be served: ask it once more before answering 503.
      const again = cached === null ? await fromRedis(key) : null
      if (again === null || again.kind === 'miss') throw error
      return fromCache(key, again, self)
    }
    stats.cassandra++
    const at = now()
    let link: ResolvedLink | null = null
    if (stored !== null) {
      const rules = rulesOf(stored)
      link = prepare(stored.url, stored.expiresAt?.getTime() ?? null, hasRules(rules) ? rules : null, at)
    }
    if (!self.superseded) remember(key, link, at)
    // Redis just failed: writing to it again would only add load; the next miss fills it.
    if (cached !== null) {
      // fill, not set: a delete's tombstone written since our Cassandra read must win.
      const write = link !== null && stored !== null ? opts.cache.fill(stored, at) : opts.cache.setNegative(key)
      write.catch(countCacheError)
    }
    return link
  }

  /** The locally cached answer: a link, null for "no such link", undefined when not cached here. */
  function cached (key: string): ResolvedLink | null | undefined {
    const entry = local.get(key)
    if (entry === undefined) return undefined
    stats.local++
    if (entry === ABSENT) return null
    // The entry's TTL already ends at the expiry, but one remembered before it and read just after
    // it (or across a clock step) must not send anyone to the target.
    const expired = entry.rules === null && isExpired(entry.expiresAt, now())
    return expired ? { ...entry, rules: NO_RULES } : entry
  }

  /** Resolves through every layer; concurrent misses for one key share one lookup. */
  function resolve (key: string): Promise<ResolvedLink | null> {
    const hit = cached(key)
    if (hit !== undefined) return Promise.resolve(hit)
    let pending = inFlight.get(key)
    if (pending === undefined) {
      const started: Lookup = { answer: Promise.resolve(null), superseded: false }
      started.answer = lookup(key, started).finally(() => { if (inFlight.get(key) === started) inFlight.delete(key) })
      inFlight.set(key, started)
      pending = started
    }
    return pending.answer
  }

  /**
   * Forgets the key here (its link was deleted or edited); the next request looks it up again,
   * not sharing a lookup that was already under way, which may have read the link before the change.
   */
  function evict (key: string): void {
    local.delete(key)
    const pending = inFlight.get(key)
    if (pending === undefined) return
    pending.superseded = true
    inFlight.delete(key)
  }

  return { stats, cached, resolve, evict }
}
export type LinkResolver = ReturnType<typeof createLinkResolver>
