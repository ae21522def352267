import { AliasTakenError, ForbiddenError, InvalidAliasError, LinkNotFoundError } from '@shortwave/common/errors'
import { ALIAS_MAX, ALIAS_MIN, ALIAS_PATTERN, canBeKey, isReserved } from '@shortwave/common/keys'
import type { LinkCache } from '@shortwave/common/link-cache'
import { isIndexedAs, isLive, type DailyClicks, type Link, type LinkRepository, type OwnedPosition } from '@shortwave/common/link-repository'
import type { FastifyBaseLogger } from 'fastify'
import { mayManage, type Caller } from './caller.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'
import { resolveExpiry } from './expiry.ts'
import { CLAIMED_BY, type KeySource, type LinkDraft } from './key-source.ts'
import type { LinkInvalidator } from './link-invalidation.ts'
import type { Metrics } from './metrics.ts'
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

export interface LinkStats {
  key: string
  clicks: number
  botClicks: number
  /** Days with clicks, oldest first. */
  daily: DailyClicks[]
}

export interface LinkPage {
  links: Link[]
  /** Where the next page starts; null after the last page. */
  nextCursor: string | null
}

// A listing skips index entries whose link is gone (deleted meanwhile, expired, or never stored);
// it reads on until the page is full, but not forever.
const LIST_ROUNDS = 5

export interface LinkServiceOptions {
  repo: LinkRepository
  cache: LinkCache
  keySource: KeySource
  invalidator: Pick<LinkInvalidator, 'invalidate'>
  checkUrl: UrlPolicy
  maxTtlSeconds: number
  metrics: Pick<Metrics, 'linksCreated' | 'linksDeleted'>
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
  const { repo, cache, keySource, log, metrics } = opts

  // Listed before stored: a link that exists is always in its owner's list (see links_by_owner).
  const listUnderOwner = (link: Link): Promise<void> => repo.indexOwned(link)

  async function claimAlias (link: Link): Promise<Link> {
    await listUnderOwner(link)
    // The one lightweight transaction decides between concurrent claimants, generated keys included.
    const applied = await repo.insertIfAbsent(link, CLAIMED_BY)
    if (!applied) throw new AliasTakenError(link.key)
    return link
  }

  async function storeGenerated (draft: LinkDraft): Promise<Link> {
    const { link, source } = await keySource.take(draft, listUnderOwner)
    // A leased key that fails to activate is dropped, never reused: the write may have landed.
    if (source === 'pool') await repo.activateLeased(link)
    return link
  }

  return {
    /**
     * Validates everything before touching storage, so a bad request uses no key and writes
     * nothing. Returns once the link is durable in Cassandra; the cache write is best effort.
     */
    async createLink (input: CreateLinkInput, now = new Date()): Promise<Link> {
      const url = await opts.checkUrl(input.url)
      const alias = input.alias === undefined ? undefined : checkAlias(input.alias)
      const expiresAt = resolveExpiry(input, opts.maxTtlSeconds, now.getTime())
      const draft: LinkDraft = { url, createdAt: now, expiresAt, owner: input.owner }

      const link = alias === undefined ? await storeGenerated(draft) : await claimAlias({ ...draft, key: alias })
      metrics.linksCreated.inc({ kind: alias === undefined ? 'generated' : 'alias' })
      await cache.set(link).catch((err: Error) => {
        // Readers fall back to Cassandra (and replace a stale negative entry once it expires).
        log.warn({ err: err.message, key: link.key }, 'could not write the new link to the cache')
      })
      return link
    },

    /** The live link under the key; LinkNotFoundError when unknown, deleted or expired. */
    findLink: liveLink,

    /** The live link under the key with its click count; LinkNotFoundError when unknown, deleted or expired. */
    async getLink (key: string): Promise<LinkWithClicks> {
      const link = await liveLink(key)
      const clicks = await repo.totalClicks(key)
      return { ...link, clicks }
    },

    /** Total and daily (UTC) clicks of a live link, people and bots apart. */
    async getStats (key: string): Promise<LinkStats> {
      await liveLink(key)
      const daily = (await repo.dailyClicks(key)).sort((a, b) => a.day.localeCompare(b.day))
      return {
        key,
        clicks: daily.reduce((sum, d) => sum + d.clicks, 0),
        botClicks: daily.reduce((sum, d) => sum + d.botClicks, 0),
        daily
      }
    },

    /**
     * Deletes the link for its owner or an admin. The row stays, marked deleted, so the key is
     * never handed out again; then every cache is told (see link-invalidation.ts).
     */
    async deleteLink (key: string, caller: Caller, now = new Date()): Promise<void> {
      const link = await liveLink(key)
      if (!mayManage(caller, link.owner)) {
        throw new ForbiddenError(`the link "${key}" belongs to another API key; only its owner or an admin key may delete it`)
      }
      await repo.markDeleted(link, now)
      metrics.linksDeleted.inc()
      await opts.invalidator.invalidate(key)
    },

    /** The owner's live links, newest first, `limit` at most, from the cursor on. */
    async listLinks (owner: string, cursor: string | undefined, limit: number, now = Date.now()): Promise<LinkPage> {
      let position: OwnedPosition | null = cursor === undefined ? null : decodeCursor(cursor)
      const links: Link[] = []
      for (let round = 0; round < LIST_ROUNDS && links.length < limit; round++) {
        const wanted = limit - links.length
        // One more than wanted says whether anything follows, without a request for an empty page.
        const entries = await repo.ownedPage(owner, position, wanted + 1)
        const page = entries.slice(0, wanted)
        const found = await Promise.all(page.map((entry) => repo.find(entry.key)))
        for (const [i, link] of found.entries()) {
          // The key-worker's sweep removes the entries this skips (key-worker/src/owner-index-sweeper.ts).
          if (link !== null && isIndexedAs(link, owner, page[i]!) && isLive(link, now)) links.push(link)
        }
        position = page.at(-1) ?? position
        if (entries.length <= wanted) return { links, nextCursor: null }
      }
      return { links, nextCursor: position === null ? null : encodeCursor(position) }
    }
  }

  async function liveLink (key: string): Promise<Link> {
    if (!canBeKey(key)) throw new LinkNotFoundError(key.slice(0, ALIAS_MAX))
    const link = await repo.find(key)
    if (!link || !isLive(link)) throw new LinkNotFoundError(key)
    return link
  }
}
export type LinkService = ReturnType<typeof createLinkService>
