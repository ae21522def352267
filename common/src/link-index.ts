import cassandra from 'cassandra-driver'
import { createCoalescedWrites, type PartitionWrite } from './coalesced-writes.ts'
import { DEFAULT_DOMAIN, scopedKey } from './domains.ts'
import { domainOf, IDEMPOTENT, ownedEntryWrite, type Link } from './link-repository.ts'
import { searchTokens } from './link-search.ts'

// The list's index tables (schema-link-list.ts): the entries a link has, their writes, and the
// reads of one partition a page at a time. Every value is a bound parameter of a prepared
// statement; the table and column names below are constants, never request input.

/** What the index needs of a link: its identity, owner and the fields it is listed by. */
export type IndexedLink = Pick<Link, 'key' | 'url' | 'createdAt' | 'owner'> & Partial<Pick<Link, 'title' | 'tags' | 'domain'>>

/** The partition a listing reads: every one is an owner's links on one domain, maybe narrowed. */
export type ListSource =
  | { by: 'created' }
  | { by: 'tag', tag: string }
  | { by: 'token', token: string }
  | { by: 'clicks' }

export type ListOrder = 'asc' | 'desc'

/**
 * A place in a listing: the clustering value (ms since the epoch, or clicks) and the key, and in a
 * listing of every domain the entry's domain ('' for the default one), which orders entries of
 * equal value and key across partitions.
 */
export interface ListPosition {
  value: number
  key: string
  domain?: string
}

/** One row of an index: a statement and the partition it writes (writes are batched by partition). */
export type IndexWrite = PartitionWrite

const TABLES = {
  created: { table: 'link_list_by_created', column: 'created_at', extra: [] },
  tag: { table: 'link_list_by_tag', column: 'created_at', extra: ['tag'] },
  token: { table: 'link_list_by_token', column: 'created_at', extra: ['prefix'] },
  clicks: { table: 'link_list_by_clicks', column: 'clicks', extra: [] }
} as const

function statements (by: ListSource['by']) {
  const { table, column, extra } = TABLES[by]
  const pk = ['owner = ?', 'domain = ?', ...extra.map((c) => `${c} = ?`)].join(' AND ')
  const columns = ['owner', 'domain', ...extra, column, 'key']
  return {
    insert: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    delete: `DELETE FROM ${table} WHERE ${pk} AND ${column} = ? AND key = ?`,
    desc: `SELECT ${column}, key FROM ${table} WHERE ${pk} LIMIT ?`,
    descAfter: `SELECT ${column}, key FROM ${table} WHERE ${pk} AND (${column}, key) < (?, ?) LIMIT ?`,
    descFrom: `SELECT ${column}, key FROM ${table} WHERE ${pk} AND (${column}, key) <= (?, ?) LIMIT ?`,
    asc: `SELECT ${column}, key FROM ${table} WHERE ${pk} ORDER BY ${column} ASC, key ASC LIMIT ?`,
    ascAfter: `SELECT ${column}, key FROM ${table} WHERE ${pk} AND (${column}, key) > (?, ?) ORDER BY ${column} ASC, key ASC LIMIT ?`,
    ascFrom: `SELECT ${column}, key FROM ${table} WHERE ${pk} AND (${column}, key) >= (?, ?) ORDER BY ${column} ASC, key ASC LIMIT ?`
  }
}
const Q = {
  created: statements('created'),
  tag: statements('tag'),
  token: statements('token'),
  clicks: statements('clicks'),
  rank: 'SELECT owner, domain, clicks FROM link_click_rank WHERE key = ?',
  ownerDomain: 'INSERT INTO link_owner_domains (owner, domain) VALUES (?, ?)',
  ownerDomains: 'SELECT domain FROM link_owner_domains WHERE owner = ?',
  setRank: 'UPDATE link_click_rank SET owner = ?, domain = ?, clicks = ?, ranked_at = ? WHERE key = ?'
} as const

const long = (n: number) => cassandra.types.Long.fromNumber(n)
const partitionId = (...parts: string[]) => JSON.stringify(parts)

/** The tag and token entries of a link: what an edit of its tags, title or url moves. */
function narrowedWrites (link: IndexedLink, domain: string, kind: 'insert' | 'delete'): IndexWrite[] {
  const owner = link.owner!
  const tags = (link.tags ?? []).map((tag) => ({
    partition: partitionId('tag', owner, domain, tag), query: Q.tag[kind], params: [owner, domain, tag, link.createdAt, link.key]
  }))
  const tokens = searchTokens(link).map((token) => ({
    partition: partitionId('token', owner, domain, token), query: Q.token[kind], params: [owner, domain, token, link.createdAt, link.key]
  }))
  return [...tags, ...tokens]
}

/**
 * Every entry a new link gets: by creation time, per tag, per search token, and by clicks (none
 * yet); on a domain other than the default one, that its owner has links there.
 */
export function listWrites (link: IndexedLink, domain = domainOf(link), clicks = 0): IndexWrite[] {
  if (link.owner === null) return []
  const owner = link.owner
  return [
    ...(domain === DEFAULT_DOMAIN ? [] : [{ partition: partitionId('domains', owner), query: Q.ownerDomain, params: [owner, domain] }]),
    { partition: partitionId('created', owner, domain), query: Q.created.insert, params: [owner, domain, link.createdAt, link.key] },
    ...narrowedWrites(link, domain, 'insert'),
    { partition: partitionId('clicks', owner, domain), query: Q.clicks.insert, params: [owner, domain, long(clicks), link.key] }
  ]
}

function without (writes: IndexWrite[], present: IndexWrite[]): IndexWrite[] {
  const keep = new Set(present.map((w) => w.partition))
  return writes.filter((w) => !keep.has(w.partition))
}

export interface ClickRank {
  owner: string
  domain: string
  clicks: number
}

export function createLinkIndex (client: cassandra.Client) {
  // Writes of concurrent creates and edits share partitions (the owner's, common words): sent
  // together, grouped by partition (coalesced-writes.ts).
  const coalesced = createCoalescedWrites(client)
  const run = (writes: IndexWrite[]): Promise<void> => coalesced.write(writes)

  async function rank (key: string, domain = DEFAULT_DOMAIN): Promise<ClickRank | null> {
    const row = (await client.execute(Q.rank, [scopedKey(domain, key)], IDEMPOTENT)).first()
    if (!row) return null
    return { owner: row['owner'] as string, domain: (row['domain'] as string | null) ?? '', clicks: Number(row['clicks'] ?? 0) }
  }

  return {
    /**
     * Lists a new link under its owner: the list's entries, and its links_by_owner row (export and
     * the key-worker's sweep read that one). Called before the link is stored (see schema-link-list.ts).
     */
    async list (link: IndexedLink, domain = domainOf(link)): Promise<void> {
      const owned = ownedEntryWrite(link)
      await run([...listWrites(link, domain), ...(owned === null ? [] : [owned])])
    },

    /** Before an edit: the entries the edited link has and the link had not (new tags, new words). */
    async listChanges (before: IndexedLink, after: IndexedLink, domain = domainOf(before)): Promise<void> {
      if (before.owner === null) return
      await run(without(narrowedWrites(after, domain, 'insert'), narrowedWrites(before, domain, 'insert')))
    },

    /** After an applied edit: drops the entries the link no longer has. */
    async unlistChanges (before: IndexedLink, after: IndexedLink, domain = domainOf(before)): Promise<void> {
      if (before.owner === null) return
      await run(without(narrowedWrites(before, domain, 'delete'), narrowedWrites(after, domain, 'delete')))
    },

    /** After a delete: drops every entry of the link (listings skip them anyway; this keeps them small). */
    async unlist (link: IndexedLink, domain = domainOf(link)): Promise<void> {
      if (link.owner === null) return
      const owner = link.owner
      const ranked = await rank(link.key, domain)
      const clickRows = [...new Set([0, ranked?.clicks ?? 0])].map((clicks) => ({
        partition: partitionId('clicks', owner, domain), query: Q.clicks.delete, params: [owner, domain, long(clicks), link.key]
      }))
      await run([
        { partition: partitionId('created', owner, domain), query: Q.created.delete, params: [owner, domain, link.createdAt, link.key] },
        ...narrowedWrites(link, domain, 'delete'),
        ...clickRows
      ])
    },

    /**
     * Up to `limit` entries of one partition after `after` (from its start when null; from `after`
     * itself on when `inclusive`), in `order`: by creation time for created, tag and token, by
     * clicks then key for clicks.
     */
    async page (
      owner: string, domain: string, source: ListSource, order: ListOrder, after: ListPosition | null, limit: number,
      inclusive = false
    ): Promise<ListPosition[]> {
      const q = Q[source.by]
      const pk = [owner, domain, ...(source.by === 'tag' ? [source.tag] : source.by === 'token' ? [source.token] : [])]
      const at = after === null ? [] : [source.by === 'clicks' ? long(after.value) : new Date(after.value), after.key]
      const query = after === null
        ? q[order]
        : order === 'desc' ? (inclusive ? q.descFrom : q.descAfter) : (inclusive ? q.ascFrom : q.ascAfter)
      const result = await client.execute(query, [...pk, ...at, limit], IDEMPOTENT)
      const column = TABLES[source.by].column
      return result.rows.map((r) => {
        const value = r[column] as Date | cassandra.types.Long
        return { value: value instanceof Date ? value.getTime() : Number(value), key: r['key'] as string }
      })
    },

    /** Where the link stands in link_list_by_clicks; null: never folded (its entry has 0 clicks). */
    rank,

    /** The domains other than the default one the owner has links on (link_owner_domains). */
    async ownerDomains (owner: string): Promise<string[]> {
      const result = await client.execute(Q.ownerDomains, [owner], IDEMPOTENT)
      return result.rows.map((row) => row['domain'] as string)
    },

    /**
     * Moves the link's clicks entry to `clicks` (the key-worker's fold): the new entry and the
     * rank first, then the old entry goes. Racing folds of one link may leave an entry the rank
     * does not name; listings skip it, and it goes with the link's next move or its delete.
     */
    async moveRank (link: Pick<Link, 'key' | 'owner'>, domain: string, clicks: number, previous: ClickRank | null): Promise<void> {
      if (link.owner === null) return
      const owner = link.owner
      await client.batch([
        { query: Q.clicks.insert, params: [owner, domain, long(clicks), link.key] },
        { query: Q.setRank, params: [owner, domain, long(clicks), new Date(), scopedKey(domain, link.key)] }
      ], { ...IDEMPOTENT, logged: true })
      const old = previous?.clicks ?? 0
      if (old !== clicks) await client.execute(Q.clicks.delete, [owner, domain, long(old), link.key], IDEMPOTENT)
    },

    /** Sets a rank row alone (the backfill, which writes the entry with the others). */
    async setRank (key: string, owner: string, domain: string, clicks: number): Promise<void> {
      await client.execute(Q.setRank, [owner, domain, long(clicks), new Date(), scopedKey(domain, key)], IDEMPOTENT)
    }
  }
}
export type LinkIndex = ReturnType<typeof createLinkIndex>
