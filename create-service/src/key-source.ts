import { createKeyGenerator } from '@shortwave/common/keys'
import type { Link, LinkRepository } from '@shortwave/common/link-repository'
import type { RedisKeys } from '@shortwave/common/redis-keys'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import { Counter, type Registry } from 'prom-client'

// Generated keys come from the pool the key-worker fills: each was claimed in Cassandra before
// it entered the pool, and SPOP hands each out once, so the request path neither generates nor
// checks keys. Keys are fetched a few at a time and buffered here, so most creates do not touch
// Redis for their key at all. When the pool cannot serve (empty, or Redis down) the service
// claims a key itself with a lightweight transaction: slower, still unique.

export const CLAIMED_BY = 'create-service'
const BYPASS_ATTEMPTS = 5

export interface KeySourceOptions {
  redis: Redis
  keys: RedisKeys
  repo: LinkRepository
  registry: Registry
  log: FastifyBaseLogger
  batchSize: number
  keyLength: number
}

/** A link under its new key. From the pool it still has to be written (activatePooled); from the bypass it is already stored. */
export interface TakenKey {
  link: Link
  source: 'pool' | 'bypass'
}

export type LinkDraft = Omit<Link, 'key'>

/** Work that must be done before a link is stored under its key (listing it under its owner). */
export type BeforeStore = (link: Link) => Promise<void>

type BypassReason = 'pool_empty' | 'redis_error'

export function createKeySource (opts: KeySourceOptions) {
  const { redis, keys, repo, log } = opts
  const generator = createKeyGenerator(opts.keyLength)
  const taken = new Counter({
    name: 'shortwave_keys_taken_total',
    help: 'Generated keys used for new links, by where they came from',
    labelNames: ['source'] as const,
    registers: [opts.registry]
  })
  const bypassed = new Counter({
    name: 'shortwave_key_bypass_total',
    help: 'Creates that had to claim a key themselves because the pool could not serve',
    labelNames: ['reason'] as const,
    registers: [opts.registry]
  })

  const buffer: string[] = []
  let refilling: Promise<'ok' | BypassReason> | null = null
  let closed = false

  async function refill (): Promise<'ok' | BypassReason> {
    try {
      const popped = await redis.spop(keys.pool, opts.batchSize)
      if (closed) {
        // Shutdown began while the keys were on their way: put them straight back.
        if (popped.length) await redis.sadd(keys.pool, ...popped)
        return 'pool_empty'
      }
      buffer.push(...popped)
      return popped.length ? 'ok' : 'pool_empty'
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'key pool unavailable; claiming keys directly')
      return 'redis_error'
    }
  }

  /** A key from the buffer, refilling it from the pool (one SPOP at a time, shared by every waiting caller). */
  async function fromPool (): Promise<{ key: string } | { bypass: BypassReason }> {
    if (closed) return { bypass: 'pool_empty' }
    // While Redis is known to be down, do not even try: the bypass is the fast path then.
    if (redis.status !== 'ready' && buffer.length === 0) return { bypass: 'redis_error' }
    while (true) {
      const key = buffer.shift()
      if (key !== undefined) return { key }
      refilling ??= refill().finally(() => { refilling = null })
      const outcome = await refilling
      if (outcome !== 'ok') {
        const late = buffer.shift()
        return late === undefined ? { bypass: outcome } : { key: late }
      }
    }
  }

  async function claimDirectly (draft: LinkDraft, beforeStore: BeforeStore): Promise<Link> {
    for (let attempt = 0; attempt < BYPASS_ATTEMPTS; attempt++) {
      const link = { ...draft, key: generator.one() }
      await beforeStore(link)
      if (await repo.insertIfAbsent(link, CLAIMED_BY)) return link
      log.info({ key: link.key }, 'generated key already taken; trying another')
    }
    throw new Error(`no free key after ${BYPASS_ATTEMPTS} attempts; KEY_LENGTH may be too small`)
  }

  return {
    /**
     * Hands out a key nobody else will ever get. `beforeStore` runs with the link before it is
     * written under its key (see TakenKey). Cassandra failures of the bypass propagate.
     */
    async take (draft: LinkDraft, beforeStore: BeforeStore = async () => {}): Promise<TakenKey> {
      const pooled = await fromPool()
      if ('key' in pooled) {
        taken.inc({ source: 'pool' })
        const link = { ...draft, key: pooled.key }
        await beforeStore(link)
        return { link, source: 'pool' }
      }
      bypassed.inc({ reason: pooled.bypass })
      const link = await claimDirectly(draft, beforeStore)
      taken.inc({ source: 'bypass' })
      return { link, source: 'bypass' }
    },

    /** Keys buffered here are claimed and unused: back into the pool with them, for another replica to use. */
    async close (): Promise<void> {
      closed = true
      await refilling
      const unused = buffer.splice(0)
      if (unused.length === 0) return
      try {
        await redis.sadd(keys.pool, ...unused)
      } catch (err) {
        // They stay claimed in Cassandra and are never handed out again: lost keys, never duplicates.
        log.warn({ err: (err as Error).message, keys: unused.length }, 'could not return unused keys to the pool')
      }
    },

    /** Keys fetched from the pool and not yet used (for tests and diagnostics). */
    get buffered (): number {
      return buffer.length
    }
  }
}
export type KeySource = ReturnType<typeof createKeySource>
