import { NoFreeKeyError } from '@shortwave/common/errors'
import type { KeyPool } from '@shortwave/common/key-pool'
import { DEFAULT_DOMAIN } from '@shortwave/common/domains'
import { createKeyGenerator } from '@shortwave/common/keys'
import type { Link, LinkRepository } from '@shortwave/common/link-repository'
import type { FastifyBaseLogger } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Metrics } from './metrics.ts'

// Generated keys come from the pool the key-worker fills, a chunk of one bucket at a time. Redis
// only suggests keys: this replica leases a whole chunk in Cassandra with one conditional batch
// (each key 'pooled' → 'leased' to a lease id of its own), and only the keys the lease won are
// used, with a plain write each (LinkRepository.activateLeased). A key Redis hands out twice — a
// replayed chunk, a failover to a lagging replica, a restored snapshot — fails its lease and is
// skipped without the client noticing. The next chunk is leased while a few keys are left, so
// most creates wait for no Paxos round. When the pool cannot serve (empty, or Redis down) the
// service claims a key itself with a lightweight transaction: slower, still unique.
//
// A link of another domain (domains.ts) gets a generated key the same way, so a generated key is
// handed out once across every domain; but its link is stored in that domain's own rows, never in
// the default row, which stays leased (or 'reserved', on the bypass) and so never becomes a
// default-domain link. There an alias may hold the key already: the link is written with a
// lightweight transaction (IF NOT EXISTS), and a key that lost to an alias is dropped for another.

export const CLAIMED_BY = 'create-service'
const BYPASS_ATTEMPTS = 5
/** Chunks one refill may find already leased before it gives up on the pool for this create. */
const CHUNKS_PER_REFILL = 4

export interface KeySourceOptions {
  pool: Pick<KeyPool, 'take' | 'offer' | 'available'>
  repo: Pick<LinkRepository, 'leaseChunk' | 'insertIfAbsent' | 'reserve'>
  metrics: Pick<Metrics, 'keysTaken' | 'keyBypasses' | 'keyLeases' | 'keysSkipped'>
  log: FastifyBaseLogger
  keyLength: number
  /** The next chunk is leased once this few keys are left (0: once none is). */
  leaseAhead: number
  /** Names this process in its lease ids (a random one by default). */
  instanceId?: string
}

/**
 * A link under its new key. From the pool it still has to be written (activateLeased); from the
 * bypass, and on a domain other than the default one ('domain'), it is already stored.
 */
export interface TakenKey {
  link: Link
  source: 'pool' | 'bypass' | 'domain'
}

export type LinkDraft = Omit<Link, 'key'>

/** Work that must be done before a link is stored under its key (listing it under its owner). */
export type BeforeStore = (link: Link) => Promise<void>

type BypassReason = 'pool_empty' | 'redis_error'

export function createKeySource (opts: KeySourceOptions) {
  const { pool, repo, log, metrics } = opts
  const generator = createKeyGenerator(opts.keyLength)
  const instanceId = opts.instanceId ?? randomUUID()

  const buffer: string[] = []
  let refilling: Promise<'ok' | BypassReason> | null = null
  let leaseSeq = 0
  let closed = false

  async function leaseNextChunk (): Promise<'ok' | BypassReason> {
    for (let i = 0; i < CHUNKS_PER_REFILL; i++) {
      let chunk: string[] | null
      try {
        chunk = await pool.take()
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'key pool unavailable; claiming keys directly')
        return 'redis_error'
      }
      if (chunk === null) return 'pool_empty'
      const leased = await repo.leaseChunk(chunk, `${instanceId}:${++leaseSeq}`).catch(async (err: unknown) => {
        // The create answers 503. Offering the chunk again is safe, as a lease decides who uses a key.
        await pool.offer(chunk).catch(() => {})
        throw err
      })
      metrics.keysSkipped.inc(chunk.length - leased.length)
      metrics.keyLeases.inc({ outcome: leased.length > 0 ? 'leased' : 'replayed' })
      if (leased.length === 0) {
        log.warn({ keys: chunk.length }, 'the key pool offered a chunk that was leased before; skipped it')
        continue
      }
      if (closed) {
        log.info({ keys: leased.length }, 'leased keys left unused at shutdown')
        return 'pool_empty'
      }
      buffer.push(...leased)
      return 'ok'
    }
    return 'pool_empty'
  }

  /** One lease in flight at a time, shared by every caller waiting for a key. */
  function refill (): Promise<'ok' | BypassReason> {
    refilling ??= leaseNextChunk().finally(() => { refilling = null })
    return refilling
  }

  function leaseAhead (): void {
    if (buffer.length <= opts.leaseAhead && refilling === null && !closed && pool.available()) {
      refill().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not lease the next chunk of keys'))
    }
  }

  async function fromPool (): Promise<{ key: string } | { bypass: BypassReason }> {
    if (closed) return { bypass: 'pool_empty' }
    // While Redis is known to be down, do not even try: the bypass is the fast path then.
    if (!pool.available() && buffer.length === 0) return { bypass: 'redis_error' }
    while (true) {
      const key = buffer.shift()
      if (key !== undefined) return { key }
      const outcome = await refill()
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
    throw new NoFreeKeyError(BYPASS_ATTEMPTS)
  }

  /** A key for a link of another domain, stored there (see the top of this file). */
  async function takeForDomain (draft: LinkDraft, beforeStore: BeforeStore): Promise<TakenKey> {
    for (let attempt = 0; attempt < BYPASS_ATTEMPTS; attempt++) {
      const pooled = await fromPool()
      let key: string
      if ('key' in pooled) {
        leaseAhead()
        metrics.keysTaken.inc({ source: 'pool' })
        key = pooled.key
      } else {
        metrics.keyBypasses.inc({ reason: pooled.bypass })
        key = generator.one()
        if (!await repo.reserve(key, CLAIMED_BY)) continue
        metrics.keysTaken.inc({ source: 'bypass' })
      }
      const link = { ...draft, key }
      await beforeStore(link)
      if (await repo.insertIfAbsent(link, CLAIMED_BY)) return { link, source: 'domain' }
      log.info({ key, domain: draft.domain }, 'an alias on the domain holds the generated key; trying another')
    }
    throw new NoFreeKeyError(BYPASS_ATTEMPTS)
  }

  return {
    /**
     * Hands out a key nobody else will ever get. `beforeStore` runs with the link before it is
     * written under its key (see TakenKey). Cassandra failures propagate.
     */
    async take (draft: LinkDraft, beforeStore: BeforeStore = async () => {}): Promise<TakenKey> {
      if ((draft.domain ?? DEFAULT_DOMAIN) !== DEFAULT_DOMAIN) return await takeForDomain(draft, beforeStore)
      const pooled = await fromPool()
      if ('key' in pooled) {
        leaseAhead()
        metrics.keysTaken.inc({ source: 'pool' })
        const link = { ...draft, key: pooled.key }
        await beforeStore(link)
        return { link, source: 'pool' }
      }
      metrics.keyBypasses.inc({ reason: pooled.bypass })
      const link = await claimDirectly(draft, beforeStore)
      metrics.keysTaken.inc({ source: 'bypass' })
      return { link, source: 'bypass' }
    },

    /**
     * Stops leasing. Keys leased and unused are left so: they are this process's alone, and
     * nothing else may use them (a few lost keys cost nothing).
     */
    async close (): Promise<void> {
      closed = true
      await refilling?.catch(() => {})
      const unused = buffer.splice(0)
      if (unused.length > 0) log.info({ keys: unused.length }, 'leased keys left unused at shutdown')
    },

    /** Keys leased and not yet used (for tests and diagnostics). */
    get buffered (): number {
      return buffer.length
    }
  }
}
export type KeySource = ReturnType<typeof createKeySource>
