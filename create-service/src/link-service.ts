import {
  AliasTakenError, EditConflictError, ForbiddenError, InvalidAliasError, InvalidDomainError, InvalidExpiryError,
  InvalidValidFromError,
  LinkNotFoundError, PreconditionFailedError
} from '@shortwave/common/errors'
import { DEFAULT_DOMAIN } from '@shortwave/common/domains'
import { ALIAS_MAX, ALIAS_MIN, ALIAS_PATTERN, canBeKey, isReserved } from '@shortwave/common/keys'
import type { LinkCache } from '@shortwave/common/link-cache'
import type { LinkIndex } from '@shortwave/common/link-index'
import type { RedirectStatus, RuleFields } from '@shortwave/common/link-rules'
import {
  isLive, scopedKeyOf, type Link, type LinkChanges, type LinkEdit, type LinkRepository,
  type StoredLink
} from '@shortwave/common/link-repository'
import type { FastifyBaseLogger } from 'fastify'
import { mayManage, type Caller } from './caller.ts'
import { etagOf, ifMatchAllows } from './etag.ts'
import { parseInstant, resolveExpiry } from './expiry.ts'
import { CLAIMED_BY, type KeySource, type LinkDraft } from './key-source.ts'
import { NO_LINK_EVENTS, type LinkEvents } from './link-events.ts'
import type { LinkInvalidator } from './link-invalidation.ts'
import { createLinkLister, type ListPage, type ListRequest } from './link-list.ts'
import type { Metrics } from './metrics.ts'
import type { UrlPolicy } from '@shortwave/common/url-policy'

export interface CreateLinkInput {
  url: string
  alias?: string
  expiresAt?: string
  ttlSeconds?: number
  title?: string
  tags?: string[]
  validFrom?: string
  maxClicks?: number
  fallbackUrl?: string
  disabled?: boolean
  forwardQuery?: boolean
  redirectStatus?: RedirectStatus
  /** The host the client named; the default domain when absent (DomainService.domainOf). */
  domain?: string
  owner: string | null
}

/** A PATCH body: absent fields stay as they are; `expiresAt: null` and `title: null` remove them. */
export interface EditLinkInput {
  url?: string
  expiresAt?: string | null
  ttlSeconds?: number
  title?: string | null
  tags?: string[]
  validFrom?: string | null
  maxClicks?: number | null
  fallbackUrl?: string | null
  disabled?: boolean
  forwardQuery?: boolean
  redirectStatus?: RedirectStatus | null
}

export interface LinkWithClicks extends StoredLink {
  clicks: number
}

export interface EditPage {
  edits: LinkEdit[]
  /** Where the next page starts; null after the last page. */
  nextCursor: string | null
}

// Edits sent without If-Match are applied to the state they find; one that loses the race to
// another edit reads again and retries, a few times.
const EDIT_ROUNDS = 3

export interface LinkServiceOptions {
  repo: LinkRepository
  /** The list's index tables (link-list.ts): written before the links row on create and edit. */
  index: LinkIndex
  cache: LinkCache
  keySource: KeySource
  invalidator: Pick<LinkInvalidator, 'invalidate' | 'replace'>
  checkUrl: UrlPolicy
  maxTtlSeconds: number
  metrics: Pick<Metrics, 'linksCreated' | 'linksDeleted' | 'linksEdited'>
  log: FastifyBaseLogger
  /** Turns a create's `domain` into the stored domain; without it only the default domain is accepted. */
  domainOf?: (host: string | undefined, where: 'body') => Promise<string>
  /** The webhook events of each change, written before it (link-events.ts); none without. */
  events?: LinkEvents
}

const aliasShape = new RegExp(ALIAS_PATTERN)

function checkAlias (alias: string): string {
  if (!aliasShape.test(alias)) {
    throw new InvalidAliasError(`alias must be ${ALIAS_MIN} to ${ALIAS_MAX} characters long and use only letters, digits, "-" and "_"`)
  }
  if (isReserved(alias)) throw new InvalidAliasError(`alias "${alias}" is a reserved word; choose another one`)
  return alias
}

/**
 * Tags in the order Cassandra keeps a set of them (by their bytes; tags are ASCII), so a write
 * answers with them as every later read will.
 */
const asStored = (tags: readonly string[]): string[] => [...tags].sort()

export function createLinkService (opts: LinkServiceOptions) {
  const { repo, index, cache, keySource, log, metrics } = opts
  const lister = createLinkLister({ repo, index })
  const events = opts.events ?? NO_LINK_EVENTS

  // Listed before stored: a link that exists is always in its owner's list (see links_by_owner
  // and schema-link-list.ts), whoever creates it (the API, a batch, an import). Its webhook event
  // is written before it too, for the same reason (link-events.ts).
  const listUnderOwner = async (link: Link): Promise<void> => {
    await Promise.all([index.list(link), events.created(link)])
  }

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
      const rules = await checkRules(input)
      checkWindow(rules.validFrom ?? null, expiresAt)
      const domain = await storedDomain(input.domain)
      const draft: LinkDraft = {
        // Only off the default domain: a default link is the very object it was before domains.
        ...(domain === DEFAULT_DOMAIN ? {} : { domain }),
        url,
        createdAt: now,
        expiresAt,
        owner: input.owner,
        title: input.title ?? null,
        tags: asStored(input.tags ?? []),
        ...rules
      }

      const link = alias === undefined ? await storeGenerated(draft) : await claimAlias({ ...draft, key: alias })
      metrics.linksCreated.inc({ kind: alias === undefined ? 'generated' : 'alias' })
      await cache.set(link).catch((err: Error) => {
        // Readers fall back to Cassandra (and replace a stale negative entry once it expires).
        log.warn({ err: err.message, key: scopedKeyOf(link) }, 'could not write the new link to the cache')
      })
      return link
    },

    /** The live link under the key; LinkNotFoundError when unknown, deleted or expired. */
    findLink: liveLink,

    /** The link whose statistics the caller may read: as getStats decides. */
    readableLink,

    /** The link whose statistics the caller may purge: its owner or an admin, as for a delete. */
    purgeableLink: (key: string, caller: Caller, domain = DEFAULT_DOMAIN) => managedLink(key, caller, 'purge its statistics', domain),

    /**
     * The live link under the key with its click count; LinkNotFoundError when unknown, deleted, or
     * expired and the caller is not its owner or an admin (an expired link keeps its row and clicks).
     */
    async getLink (key: string, caller: Caller | null = null, domain = DEFAULT_DOMAIN): Promise<LinkWithClicks> {
      const link = await readableLink(key, caller, domain)
      const clicks = await repo.totalClicks(scopedKeyOf(link))
      return { ...link, clicks }
    },

    /**
     * Deletes the link for its owner or an admin. The row stays, marked deleted, so the key is
     * never handed out again; then every cache is told (see link-invalidation.ts).
     */
    async deleteLink (
      key: string, caller: Caller, ifMatch?: string, domain = DEFAULT_DOMAIN, now = new Date()
    ): Promise<void> {
      const link = await managedLink(key, caller, 'delete it', domain)
      precondition(ifMatch, link)
      await events.deleted(link, now)
      // Named a version: deleted only if no edit came in between (a conditional write, as an edit's).
      if (ifMatch !== undefined && ifMatch.trim() !== '*' && !await repo.markDeletedIf(link, now)) throw stale(key)
      await repo.markDeleted(link, now)
      // After the mark: had it failed, the link would still be stored, and must stay listed.
      await index.unlist(link).catch((err: Error) => {
        log.warn({ err: err.message, key }, 'a deleted link keeps index entries; listings skip them')
      })
      metrics.linksDeleted.inc()
      await opts.invalidator.invalidate(scopedKeyOf(link))
    },

    /**
     * Applies an owner's or an admin's changes to a live link, all of them or none. Everything is
     * checked before anything is written; the write applies only to the version read (If-Match, when
     * sent, must name it), so concurrent edits never undo each other unseen. Then the edit is put in
     * the link's history and every cache is given the new state (see link-invalidation.ts).
     */
    async editLink (
      key: string, input: EditLinkInput, caller: Caller, ifMatch?: string, domain = DEFAULT_DOMAIN
    ): Promise<LinkWithClicks> {
      const changes = await checkChanges(input)
      for (let round = 0; round < EDIT_ROUNDS; round++) {
        const link = await managedLink(key, caller, 'edit it', domain)
        precondition(ifMatch, link)
        checkWindow(changes.validFrom === undefined ? link.validFrom : changes.validFrom,
          changes.expiresAt === undefined ? link.expiresAt : changes.expiresAt)
        const at = new Date()
        const edited: StoredLink = { ...link, ...changes, version: link.version + 1, updatedAt: at }
        // The new tags and words are listed before the edit is stored, the old ones dropped after.
        await Promise.all([index.listChanges(link, edited), events.updated(edited, Object.keys(changes))])
        if (await repo.applyEdit(link, changes, at)) {
          metrics.linksEdited.inc()
          // The caches first: the redirects are promised the new state within 5 s.
          await opts.invalidator.replace(edited)
          await recordEdit(link, edited, changes, caller)
          await index.unlistChanges(link, edited).catch((err: Error) => {
            log.warn({ err: err.message, key }, 'an edited link keeps index entries of its old state; listings skip them')
          })
          return { ...edited, clicks: await repo.totalClicks(scopedKeyOf(link)) }
        }
        // The version the client named is gone: another edit (or a delete) came first.
        if (ifMatch !== undefined && ifMatch.trim() !== '*') throw stale(key)
      }
      throw new EditConflictError(key)
    },

    /** The link's edits, newest first, `limit` at most, from the cursor on; for its owner or an admin. */
    async listEdits (
      key: string, caller: Caller, cursor: string | undefined, limit: number, domain = DEFAULT_DOMAIN
    ): Promise<EditPage> {
      const link = await managedLink(key, caller, 'read its history', domain)
      const edits = await repo.edits(scopedKeyOf(link), cursor === undefined ? null : Number(cursor), limit + 1)
      const page = edits.slice(0, limit)
      return { edits: page, nextCursor: edits.length > limit ? String(page.at(-1)!.version) : null }
    },

    /** A page of the owner's links (link-list.ts): by tag, q, creation time or clicks. */
    async listLinks (request: ListRequest, now = Date.now()): Promise<ListPage> {
      return await lister.list(request, now)
    }
  }

  /** The live link, if the caller may change it; `action` completes "only its owner or an admin key may …". */
  async function managedLink (key: string, caller: Caller, action: string, domain: string): Promise<StoredLink> {
    const link = await liveLink(key, domain)
    if (!mayManage(caller, link.owner)) {
      throw new ForbiddenError(`the link "${key}" belongs to another API key; only its owner or an admin key may ${action}`)
    }
    return link
  }

  function stale (key: string): Error {
    return new PreconditionFailedError(`the link "${key}" changed since you read it (If-Match does not name its ETag); read it again and retry`)
  }

  function precondition (ifMatch: string | undefined, link: StoredLink): void {
    if (!ifMatchAllows(ifMatch, etagOf(link))) throw stale(link.key)
  }

  /** The domain a create names, as stored; the default one when absent. */
  async function storedDomain (host: string | undefined): Promise<string> {
    if (opts.domainOf !== undefined) return await opts.domainOf(host, 'body')
    if (host === undefined) return DEFAULT_DOMAIN
    throw new InvalidDomainError(`domain "${host.slice(0, 300)}" is not a registered domain`)
  }

  /** The edit as it will be stored, or the error that names what is wrong with it. */
  async function checkChanges (input: EditLinkInput): Promise<LinkChanges> {
    const changes: LinkChanges = {}
    if (input.url !== undefined) changes.url = await opts.checkUrl(input.url)
    if (input.expiresAt === null) {
      if (input.ttlSeconds !== undefined) throw new InvalidExpiryError('send either expiresAt or ttlSeconds, not both')
      changes.expiresAt = null
    } else if (input.expiresAt !== undefined || input.ttlSeconds !== undefined) {
      changes.expiresAt = resolveExpiry({ ...input, expiresAt: input.expiresAt }, opts.maxTtlSeconds)
    }
    if (input.title !== undefined) changes.title = input.title
    if (input.tags !== undefined) changes.tags = asStored(input.tags)
    return { ...changes, ...await checkRules(input) }
  }

  /** The lifecycle fields sent, as they will be stored (null clears one on an edit); absent ones stay absent. */
  async function checkRules (input: EditLinkInput): Promise<RuleFields> {
    const rules: RuleFields = {}
    if (input.validFrom !== undefined) rules.validFrom = input.validFrom === null ? null : instant(input.validFrom)
    if (input.maxClicks !== undefined) rules.maxClicks = input.maxClicks
    if (input.fallbackUrl !== undefined) {
      rules.fallbackUrl = input.fallbackUrl === null ? null : await opts.checkUrl(input.fallbackUrl, 'fallbackUrl')
    }
    if (input.disabled !== undefined) rules.disabled = input.disabled
    if (input.forwardQuery !== undefined) rules.forwardQuery = input.forwardQuery
    if (input.redirectStatus !== undefined) rules.redirectStatus = input.redirectStatus
    return rules
  }

  function instant (text: string): Date {
    const date = parseInstant(text)
    if (!date) throw new InvalidValidFromError('validFrom must be an ISO-8601 date and time with a time zone, e.g. 2030-01-31T12:00:00Z')
    return date
  }

  /** A link that starts redirecting only once it has expired would never redirect. */
  function checkWindow (validFrom: Date | null, expiresAt: Date | null): void {
    if (validFrom === null || expiresAt === null || validFrom < expiresAt) return
    throw new InvalidValidFromError(`validFrom ${validFrom.toISOString()} must be before the expiry (${expiresAt.toISOString()})`)
  }

  /**
   * Puts an applied edit in the link's history. The edit stands even if this fails (Cassandra
   * cannot write both in one transaction: they are different partitions), so it is logged.
   */
  async function recordEdit (before: StoredLink, after: StoredLink, changes: LinkChanges, by: Caller): Promise<void> {
    const fields = Object.keys(changes) as Array<keyof LinkChanges>
    const view = (link: StoredLink) => Object.fromEntries(fields.map((field) => [field, link[field] ?? null]))
    const edit: LinkEdit = {
      version: after.version, editedAt: after.updatedAt!, editor: by.id, before: view(before), after: view(after)
    }
    await repo.recordEdit(scopedKeyOf(before), edit).catch((err: Error) => {
      log.error({ err: err.message, key: before.key, version: after.version }, 'an applied edit could not be written to the history')
    })
  }

  /** Like liveLink, but an expired link is found too when the caller may manage it. */
  async function readableLink (key: string, caller: Caller | null, domain: string): Promise<StoredLink> {
    if (!canBeKey(key)) throw new LinkNotFoundError(key.slice(0, ALIAS_MAX))
    const link = await repo.find(key, domain)
    const mayRead = link !== null && (isLive(link) || (caller !== null && mayManage(caller, link.owner)))
    if (!mayRead) throw new LinkNotFoundError(key)
    return link
  }

  async function liveLink (key: string, domain = DEFAULT_DOMAIN): Promise<StoredLink> {
    if (!canBeKey(key)) throw new LinkNotFoundError(key.slice(0, ALIAS_MAX))
    const link = await repo.find(key, domain)
    if (!link || !isLive(link)) throw new LinkNotFoundError(key)
    return link
  }
}
export type LinkService = ReturnType<typeof createLinkService>
