import type { LinkCache } from '@shortwave/common/link-cache'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

// After a delete, no cache may keep the link: the Redis entry becomes a tombstone (which a
// redirect replica's late read-through cannot overwrite, see LinkCache.fill), and every replica
// is told on a pub/sub channel to drop its in-process copy. A replica that misses the message
// (reconnecting at that moment) still drops it when its short local TTL ends.
//
// Redis failing here must not undo or fail the delete, which Cassandra already holds; yet a
// cached copy that survives would keep redirecting for up to a day. So keys whose invalidation
// failed are retried in the background until Redis takes them.

export interface LinkInvalidatorOptions {
  cache: Pick<LinkCache, 'tombstone'>
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
  const pending = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  async function attempt (key: string): Promise<boolean> {
    try {
      await cache.tombstone(key)
      await redis.publish(channel, key)
      return true
    } catch (err) {
      log.warn({ err: (err as Error).message, key }, 'could not invalidate the cached link; retrying in the background')
      return false
    }
  }

  async function retry (): Promise<void> {
    timer = undefined
    for (const key of [...pending]) {
      if (closed || redis.status !== 'ready') break
      if (await attempt(key)) pending.delete(key)
    }
    schedule()
  }

  function schedule (): void {
    if (closed || pending.size === 0 || timer !== undefined) return
    timer = setTimeout(() => { retry().catch(() => {}) }, opts.retryIntervalMs ?? 1000).unref()
  }

  return {
    /** Tombstones the cached entry and tells every redirect replica; never throws. */
    async invalidate (key: string): Promise<void> {
      if (await attempt(key)) return
      if (pending.size >= maxPending) {
        const oldest = pending.values().next().value!
        pending.delete(oldest)
        log.error({ key: oldest }, 'gave up invalidating a deleted link; its cached copy expires on its own TTL')
      }
      pending.add(key)
      schedule()
    },

    /** Keys still waiting for Redis (for tests and diagnostics). */
    get pending (): number {
      return pending.size
    },

    close (): void {
      closed = true
      clearTimeout(timer)
      if (pending.size > 0) log.error({ keys: [...pending].slice(0, 20), count: pending.size }, 'deleted links whose cached copies could not be invalidated')
    }
  }
}
export type LinkInvalidator = ReturnType<typeof createLinkInvalidator>
