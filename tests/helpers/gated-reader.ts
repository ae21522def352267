// A redirect replica caught in the middle of a cache miss: its resolver has read the link from
// Cassandra and is held before it answers and writes what it read back to Redis. A test changes the
// link meanwhile (a delete, an edit), then releases it: the interleaving is forced, not timed.
import { createLinkCache } from '@shortwave/common/link-cache'
import { createLinkRepository, type Link } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import type { TestInfra } from '@shortwave/testing/infra'
import { createLinkResolver, type LinkResolver } from '../../redirect-service/src/link-resolver.ts'

export interface GatedReader {
  resolver: LinkResolver
  /** Resolves once the resolver has read the row from Cassandra (and waits at the gate). */
  read: Promise<void>
  /** Lets the resolver go on with what it read. */
  release: () => void
  /** Resolves once its write-back to Redis (fill) is done, whether it wrote or not. */
  fillAttempted: Promise<void>
}

export function gatedReader (infra: Pick<TestInfra, 'cassandra' | 'redis' | 'prefix'>): GatedReader {
  const real = createLinkRepository(infra.cassandra)
  const cache = createLinkCache(infra.redis, redisKeys(infra.prefix), { ttlSeconds: 86_400, negativeTtlSeconds: 10 })
  let readDone!: () => void
  let release!: () => void
  let filled!: () => void
  const read = new Promise<void>((resolve) => { readDone = resolve })
  const gate = new Promise<void>((resolve) => { release = resolve })
  const fillAttempted = new Promise<void>((resolve) => { filled = resolve })
  const resolver = createLinkResolver({
    cache: { ...cache, fill: (link: Pick<Link, 'key' | 'url' | 'expiresAt'>, now?: number) => cache.fill(link, now).finally(filled) },
    repository: {
      async findScoped (k) {
        const link = await real.findScoped(k)
        readDone()
        await gate
        return link
      }
    },
    localMax: 100,
    localTtlMs: 3000,
    localNegativeTtlMs: 1000
  })
  return { resolver, read, release, fillAttempted }
}
