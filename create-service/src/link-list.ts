import { DEFAULT_DOMAIN } from '@shortwave/common/domains'
import { InvalidListQueryError } from '@shortwave/common/errors'
import type { LinkIndex, ListOrder, ListPosition, ListSource } from '@shortwave/common/link-index'
import { isLive, type LinkRepository, type StoredLink } from '@shortwave/common/link-repository'
import { matchesSearch, parseSearch, type SearchQuery } from '@shortwave/common/link-search'
import { PAGE_MAX } from './schemas.ts'
import { decodeListCursor, encodeListCursor, type ListSort } from './cursor.ts'

// GET /api/v1/links: one owner's links on one domain or on all of them, maybe narrowed by a tag and
// by q, sorted by creation time or by clicks, in either order, a page at a time. Each listing reads
// one partition of one index table per domain (README, "How each list query is served"):
//   sort=clicks             link_list_by_clicks (owner, domain); tag and q checked on the links row
//   q (sort=created)        link_list_by_token (owner, domain, q's longest word); tag and q's other words checked
//   tag (sort=created)      link_list_by_tag (owner, domain, tag)
//   neither (sort=created)  link_list_by_created (owner, domain)
// and reads each entry's link: an entry is listed only if the links row (the source of truth)
// still holds that very link with that tag, those words or that click count. Without domain= the
// partitions of the default domain and of each domain in link_owner_domains are read alike and
// merged, ordered by value, key, then domain (so entries equal in value and key have an order too).
//
// An admin key lists its own links like any other: all links of every owner would be a scan.

export interface ListRequest {
  owner: string
  /** The stored domain ('' for the default one); every domain of the owner when absent. */
  domain?: string
  tag?: string
  q?: string
  sort?: ListSort
  order?: ListOrder
  /** Whether expired links are listed (each says so in `expired`); not by default, as before sorting existed. */
  expired?: 'exclude' | 'include'
  cursor?: string
  limit: number
}

export interface ListedLink extends StoredLink {
  expired: boolean
  /** The clicks as of the key-worker's last fold of the link (its rank row): those sort=clicks orders by. */
  foldedClicks: number
}

export interface ListPage {
  links: ListedLink[]
  /** Where the next page starts; null after the last page. */
  nextCursor: string | null
}

// Index entries whose link is gone (deleted meanwhile, never stored, edited away from the tag or
// word) are skipped; a listing reads on until its page is full, but not forever: it then answers
// a shorter page with a cursor.
const LIST_ROUNDS = 5

// Keys and hosts are ASCII: comparing UTF-16 code units orders them as Cassandra orders text.
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export interface LinkListerOptions {
  repo: Pick<LinkRepository, 'find'>
  index: Pick<LinkIndex, 'page' | 'rank' | 'ownerDomains'>
}

interface Plan {
  source: ListSource
  /** Checks the index cannot make: a listing reads more entries per round when it has any. */
  tag?: string
  search?: SearchQuery
  checksMore: boolean
}

function planOf (request: ListRequest): Plan {
  const search = request.q === undefined ? undefined : parseSearch(request.q)
  if (search === null) {
    throw new InvalidListQueryError('q must hold a word of 3 or more letters or digits (http, https and www are ignored)')
  }
  const tag = request.tag
  if ((request.sort ?? 'created') === 'clicks') return { source: { by: 'clicks' }, tag, search, checksMore: tag !== undefined || search !== undefined }
  if (search !== undefined) {
    return { source: { by: 'token', token: search.token }, tag, search, checksMore: tag !== undefined || search.words.length > 1 }
  }
  if (tag !== undefined) return { source: { by: 'tag', tag }, checksMore: false }
  return { source: { by: 'created' }, checksMore: false }
}

export function createLinkLister (opts: LinkListerOptions) {
  const { repo, index } = opts

  /** The link an entry names, if the listing shows it. */
  async function listed (request: ListRequest, plan: Plan, entry: ListPosition, now: number):
  Promise<ListedLink | null> {
    const domain = entry.domain ?? request.domain ?? DEFAULT_DOMAIN
    const link = await repo.find(entry.key, domain)
    if (link === null || link.owner !== request.owner) return null
    // A created-time entry names one link: a lost alias race leaves one naming another (older) link.
    if (plan.source.by !== 'clicks' && link.createdAt.getTime() !== entry.value) return null
    if (plan.tag !== undefined && !link.tags.includes(plan.tag)) return null
    if (plan.search !== undefined && !matchesSearch(link, plan.search)) return null
    const expired = !isLive(link, now)
    if (expired && request.expired !== 'include') return null
    if (plan.source.by === 'clicks') {
      // Only the entry the last fold wrote counts: a racing fold may have left an older one.
      const rank = await index.rank(link.key, domain)
      if ((rank?.clicks ?? 0) !== entry.value) return null
      return { ...link, expired, foldedClicks: entry.value }
    }
    // The list shows every link's clicks (the dashboard's column): one more read of a row by key,
    // made in parallel with the page's other links.
    const rank = await index.rank(link.key, domain)
    return { ...link, expired, foldedClicks: rank?.clicks ?? 0 }
  }

  /**
   * Up to `limit` entries after `after` of each domain's partition, merged: in a partition whose
   * domain comes after after.domain in the listing's order, an entry equal to `after` in value and
   * key comes after it too, so that one is read from `after` itself on.
   */
  async function merged (
    request: ListRequest, domains: string[], source: ListSource, order: ListOrder, after: ListPosition | null,
    limit: number
  ): Promise<ListPosition[]> {
    const pages = await Promise.all(domains.map(async (domain) => {
      const inclusive = after !== null && (order === 'desc' ? domain < (after.domain ?? '') : domain > (after.domain ?? ''))
      const entries = await index.page(request.owner, domain, source, order, after, limit, inclusive)
      return entries.map((entry) => ({ ...entry, domain }))
    }))
    const sign = order === 'desc' ? -1 : 1
    const compare = (a: ListPosition, b: ListPosition): number =>
      sign * (a.value - b.value || byText(a.key, b.key) || byText(a.domain!, b.domain!))
    return pages.flat().sort(compare).slice(0, limit)
  }

  return {
    async list (request: ListRequest, now = Date.now()): Promise<ListPage> {
      const sort = request.sort ?? 'created'
      const order = request.order ?? 'desc'
      const plan = planOf(request)
      // Every domain's partitions to merge, or undefined when one partition holds the whole listing.
      const others = request.domain === undefined ? await index.ownerDomains(request.owner) : []
      const domains = others.length === 0 ? undefined : [DEFAULT_DOMAIN, ...others]
      const single = request.domain ?? DEFAULT_DOMAIN
      let position = request.cursor === undefined ? null : decodeListCursor(request.cursor, sort, order).position
      const links: ListedLink[] = []
      const cursor = () => position === null ? null : encodeListCursor({ sort, order, position })
      for (let round = 0; round < LIST_ROUNDS; round++) {
        const wanted = request.limit - links.length
        // One more than needed says whether anything follows, without a request for an empty page.
        const fetch = plan.checksMore ? PAGE_MAX + 1 : wanted + 1
        const entries = domains === undefined
          ? await index.page(request.owner, single, plan.source, order, position, fetch)
          : await merged(request, domains, plan.source, order, position, fetch)
        const more = entries.length === fetch
        const examined = more ? entries.slice(0, -1) : entries
        const found = await Promise.all(examined.map((entry) => listed(request, plan, entry, now)))
        for (const [i, entry] of examined.entries()) {
          if (links.length === request.limit) return { links, nextCursor: cursor() }
          position = entry
          const link = found[i]
          if (link != null) links.push(link)
        }
        if (!more) return { links, nextCursor: null }
        if (links.length === request.limit) return { links, nextCursor: cursor() }
      }
      return { links, nextCursor: cursor() }
    }
  }
}
export type LinkLister = ReturnType<typeof createLinkLister>
