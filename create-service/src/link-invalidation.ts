import type { LinkCache } from '@shortwave/common/link-cache'
import { scopedKeyOf, type Link } from '@shortwave/common/link-repository'
import type { RuleFields } from '@shortwave/common/link-rules'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

// After a delete, no cache may keep the link: the Redis entry becomes a tombstone (which a
// redirect replica's late read-through cannot overwrite, see LinkCache.fill), and every replica
// is told on a pub/sub channel to drop its in-process copy. A replica that misses the message
// (reconnecting at that moment) still drops it when its short local TTL ends.
//
// An edit does the same with the new state of the link instead of a tombstone (LinkCache.replace):
// an entry at the edit's version that a reader's late fill() cannot overwrite either, and that an
// older edit's late write does not replace.
//
// Redis failing here must not undo or fail the delete, which Cassandra already holds; yet a
// cached copy that survives would keep redirecting for up to a day. So keys whose invalidation
// failed are retried in the background until Redis takes them.

export interface LinkInvalidatorOptions {
  cache: Pick<LinkCache, 'tombstone' | 'replace'>
  redis: Redis
  channel: string
  log: FastifyBaseLogger
  retryIntervalMs?: number
  /** Keys kept for retrying at most; beyond it the oldest are given up (and logged). */
  maxPending?: number
}

export function createLinkInvalidator (opts: LinkInvalidatorOptions) {
  const { cache, redis, channel, log } = opts
  const maxPending = opts.maxPending ?? 10_000
  // What is still to be written for each key: null for a delete's tombstone, else the edited link.
  // A later action on a key replaces its pending one, and nothing replaces a delete.
  const pending = new Map<string, EditedLink | null>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function attempt (key: string, edited: EditedLink | null): Promise<boolean> {
    try {
      await (edited === null ? cache.tombstone(key) : cache.replace(edited))
      await redis.publish(channel, key)
      return true
    } catch (err) {
      log.warn({ err: (err as Error).message, key }, 'could not invalidate the cached link; retrying in the background')
      return false
    }
  }

  async function retry (): Promise<void> {
    timer = undefined
    for (const [key, edited] of [...pending]) {
      if (closed || redis.status !== 'ready') break
      if (await attempt(key, edited) && pending.get(key) === edited) pending.delete(key)
    }
    schedule()
  }

  function schedule (): void {
    if (closed || pending.size === 0 || timer !== undefined) return
    timer = setTimeout(() => { retry().catch(() => {}) }, opts.retryIntervalMs ?? 1000).unref()
  }

  async function settle (key: string, edited: EditedLink | null): Promise<void> {
    if (await attempt(key, edited)) {
      // A pending older edit could only lose to the tombstone now; a newer one is still due.
      if (edited === null) pending.delete(key)
      return
    }
    if (pending.get(key) === null) return
    if (!pending.has(key) && pending.size >= maxPending) {
      const oldest = pending.keys().next().value!
      pending.delete(oldest)
      log.error({ key: oldest }, 'gave up invalidating a deleted or edited link; its cached copy expires on its own TTL')
    }
    pending.set(key, edited)
    schedule()
  }

  return {
    /** Tombstones a deleted link's cached entry (by scoped key) and tells every redirect replica; never throws. */
    invalidate: (key: string): Promise<void> => settle(key, null),

    /** Caches the edited link at its new version and tells every redirect replica; never throws. */
    replace: (link: EditedLink): Promise<void> => settle(scopedKeyOf(link), link),

    /** Keys still waiting for Redis (for tests and diagnostics). */
    get pending (): number {
      return pending.size
    },

    close (): void {
      closed = true
      clearTimeout(timer)
      if (pending.size > 0) log.error({ keys: [...pending.keys()].slice(0, 20), count: pending.size }, 'deleted or edited links whose cached copies could not be invalidated')
    }
  }
}
export type LinkInvalidator = ReturnType<typeof createLinkInvalidator>
export type EditedLink = Pick<Link, 'key' | 'domain' | 'url' | 'expiresAt'> & RuleFields & { version: number }
