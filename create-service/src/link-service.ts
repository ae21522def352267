import { AliasTakenError, InvalidAliasError, LinkNotFoundError, cassandraUnavailable } from '@shortwave/common/errors'
import { ALIAS_MAX, ALIAS_MIN, ALIAS_PATTERN, canBeKey, isReserved } from '@shortwave/common/keys'
import type { LinkCache } from '@shortwave/common/link-cache'
import { isLive, type Link, type LinkRepository } from '@shortwave/common/link-repository'
import type { FastifyBaseLogger } from 'fastify'
import { Counter, type Registry } from 'prom-client'
import { resolveExpiry } from './expiry.ts'
import { CLAIMED_BY, type KeySource, type LinkDraft } from './key-source.ts'
import type { UrlPolicy } from './url-policy.ts'

export interface CreateLinkInput {
  url: string
  alias?: string
  expiresAt?: string
  ttlSeconds?: number
  owner: string | null
}

export interface LinkWithClicks extends Link {
  clicks: number
}

export interface LinkServiceOptions {
  repo: LinkRepository
  cache: LinkCache
  keySource: KeySource
  checkUrl: UrlPolicy
  maxTtlSeconds: number
  registry: Registry
  log: FastifyBaseLogger
}

const aliasShape = new RegExp(ALIAS_PATTERN)

function checkAlias (alias: string): string {
  if (!aliasShape.test(alias)) {
    throw new InvalidAliasError(`alias must be ${ALIAS_MIN} to ${ALIAS_MAX} characters long and use only letters, digits, "-" and "_"`)
  }
  if (isReserved(alias)) throw new InvalidAliasError(`alias "${alias}" is a reserved word; choose another one`)
  return alias
}

export function createLinkService (opts: LinkServiceOptions) {
  const { repo, cache, keySource, log } = opts
  const created = new Counter({
    name: 'shortwave_links_created_total',
    help: 'Links created, by kind of key',
    labelNames: ['kind'] as const,
    registers: [opts.registry]
  })

  async function claimAlias (link: Link): Promise<Link> {
    // The one lightweight transaction decides between concurrent claimants, generated keys included.
    const applied = await repo.insertIfAbsent(link, CLAIMED_BY).catch(cassandraUnavailable)
    if (!applied) throw new AliasTakenError(link.key)
    return link
  }

  async function storeGenerated (draft: LinkDraft): Promise<Link> {
    const { link, source } = await keySource.take(draft).catch(cassandraUnavailable)
    // A pooled key that fails to activate is dropped, never reused: the write may have landed.
    if (source === 'pool') await repo.activatePooled(link).catch(cassandraUnavailable)
    return link
  }

  return {
    /**
     * Validates everything before touching storage, so a bad request uses no key and writes
     * nothing. Returns once the link is durable in Cassandra; the cache write is best effort.
     */
    async createLink (input: CreateLinkInput, now = new Date()): Promise<Link> {
      const url = opts.checkUrl(input.url)
      const alias = input.alias === undefined ? undefined : checkAlias(input.alias)
      const expiresAt = resolveExpiry(input, opts.maxTtlSeconds, now.getTime())
      const draft: LinkDraft = { url, createdAt: now, expiresAt, owner: input.owner }

      const link = alias === undefined ? await storeGenerated(draft) : await claimAlias({ ...draft, key: alias })
      created.inc({ kind: alias === undefined ? 'generated' : 'alias' })
      await cache.set(link).catch((err: Error) => {
        // Readers fall back to Cassandra (and replace a stale negative entry once it expires).
        log.warn({ err: err.message, key: link.key }, 'could not write the new link to the cache')
      })
      return link
    },

    /** The live link under the key with its click count; LinkNotFoundError when unknown, deleted or expired. */
    async getLink (key: string): Promise<LinkWithClicks> {
      if (!canBeKey(key)) throw new LinkNotFoundError(key.slice(0, ALIAS_MAX))
      const link = await repo.find(key).catch(cassandraUnavailable)
      if (!link || !isLive(link)) throw new LinkNotFoundError(key)
      const clicks = await repo.totalClicks(key).catch(cassandraUnavailable)
      return { ...link, clicks }
    }
  }
}
export type LinkService = ReturnType<typeof createLinkService>
