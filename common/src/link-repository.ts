import cassandra from 'cassandra-driver'
import { DEFAULT_DOMAIN, linkBucket, parseScopedKey, scopedKey } from './domains.ts'
import { bucketOf } from './keys.ts'
import type { RedirectStatus, RuleFields } from './link-rules.ts'

// All CQL Shortwave runs against the links and counters tables. Every value is a bound
// parameter of a prepared statement (invariant 3); there is no string building here.

/** A link; its rules (link-rules.ts) are absent or default when it sets none. */
export interface Link extends RuleFields {
  key: string
  /** The host the link is served on (domains.ts); absent or '' for the default domain. */
  domain?: string
  url: string
  createdAt: Date
  expiresAt: Date | null
  owner: string | null
  /** What the owner calls the link; absent or null for none. */
  title?: string | null
  /** Absent or empty for none. */
  tags?: readonly string[]
  /** Edits applied so far, 0 when never edited (see Q.edit); absent on a link not read back yet. */
  version?: number
}

/** A link as Cassandra holds it: every field known. */
export interface StoredLink extends Link {
  title: string | null
  tags: readonly string[]
  version: number
  /** When the last edit was applied; null when never edited. */
  updatedAt: Date | null
  validFrom: Date | null
  disabled: boolean
  maxClicks: number | null
  fallbackUrl: string | null
  forwardQuery: boolean
  redirectStatus: RedirectStatus | null
}

/** The fields an edit replaces; absent ones stay as they are, null removes an expiry or a title. */
export interface LinkChanges extends RuleFields {
  url?: string
  expiresAt?: Date | null
  title?: string | null
  tags?: readonly string[]
}

/** One applied edit of a link, with the fields it sent as they were before and after. */
export interface LinkEdit {
  version: number
  editedAt: Date
  /** The id of the API key that made the edit. */
  editor: string
  before: Record<string, unknown>
  after: Record<string, unknown>
}

export interface ClaimResult {
  claimed: string[]
  conflicts: string[]
}

const Q = {
  find: 'SELECT url, created_at, expires_at, owner, deleted_at, title, tags, version, updated_at, ' +
    'valid_from, disabled, max_clicks, fallback_url, forward_query, redirect_status FROM links WHERE bucket = ? AND key = ?',
  insertIfAbsent: 'INSERT INTO links (bucket, key, state, url, created_at, expires_at, owner, title, tags, claimed_at, claimed_by, ' +
    'valid_from, disabled, max_clicks, fallback_url, forward_query, redirect_status) ' +
    'VALUES (?, ?, \'active\', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  // Writes only columns no lightweight transaction ever writes on a pooled key: with a client clock
  // behind Cassandra's, an activation written after a Paxos write of the state column would
  // otherwise lose to it by timestamp, and an acknowledged link would stay invisible.
  activate: 'UPDATE links SET url = ?, created_at = ?, expires_at = ?, owner = ?, title = ?, tags = ?, ' +
    'valid_from = ?, disabled = ?, max_clicks = ?, fallback_url = ?, forward_query = ?, redirect_status = ? WHERE bucket = ? AND key = ?',
  claim: 'INSERT INTO links (bucket, key, state, claimed_at, claimed_by) VALUES (?, ?, \'pooled\', ?, ?) IF NOT EXISTS',
  // A generated key made by create-service for a link of another domain: its default-domain row is
  // taken too (state 'reserved', never leased nor activated), so the key is handed out once, ever.
  reserve: 'INSERT INTO links (bucket, key, state, claimed_at, claimed_by) VALUES (?, ?, \'reserved\', ?, ?) IF NOT EXISTS',
  lease: 'UPDATE links SET state = \'leased\', leased_by = ?, leased_at = ? WHERE bucket = ? AND key = ? IF state = \'pooled\'',
  // Read at the serial consistency after a conditional write whose answer was lost: it finishes
  // any Paxos round still in flight, so what it sees is final.
  settled: 'SELECT key, state, leased_by, url, created_at, owner, version, updated_at, deleted_at FROM links WHERE bucket = ? AND key IN ?',
  // An edit applies only to the state the editor read: the version it saw (null when never edited)
  // and not deleted meanwhile. A lightweight transaction, so the check and the write are one step
  // for every create-service replica: of two edits made on the same version, exactly one applies,
  // where a read followed by a plain write would let both apply, the second silently undoing the
  // first (and an If-Match would not protect anything). A field bound as unset stays as it is.
  edit: 'UPDATE links SET url = ?, expires_at = ?, title = ?, tags = ?, valid_from = ?, disabled = ?, max_clicks = ?, ' +
    'fallback_url = ?, forward_query = ?, redirect_status = ?, version = ?, updated_at = ? ' +
    'WHERE bucket = ? AND key = ? IF version = ? AND deleted_at = null',
  recordEdit: 'INSERT INTO link_edits (key, version, edited_at, editor, before, after) VALUES (?, ?, ?, ?, ?, ?)',
  editsFirst: 'SELECT version, edited_at, editor, before, after FROM link_edits WHERE key = ? LIMIT ?',
  editsBefore: 'SELECT version, edited_at, editor, before, after FROM link_edits WHERE key = ? AND version < ? LIMIT ?',
  clicks: 'SELECT day, clicks, bot_clicks FROM link_clicks_daily WHERE key = ?',
  addClicks: 'UPDATE link_clicks_daily SET clicks = clicks + ?, bot_clicks = bot_clicks + ? WHERE key = ? AND day = ?',
  // The row stays (a key is handed out once, ever); only its link goes. deleted_at, a cell nothing
  // else writes, is what marks it: url = null alone could lose by timestamp to an activation
  // or an alias's Paxos insert stamped later than this replica's clock.
  markDeleted: 'UPDATE links SET state = \'deleted\', url = null, deleted_at = ? WHERE bucket = ? AND key = ?',
  // A delete sent with If-Match: marks the link deleted only at the version the client named, in
  // the same Paxos order as the edits, so an edit applied after the client's read is never deleted.
  deleteIf: 'UPDATE links SET deleted_at = ? WHERE bucket = ? AND key = ? IF version = ? AND deleted_at = null',
  indexOwned: 'INSERT INTO links_by_owner (owner, created_at, key) VALUES (?, ?, ?)',
  unindexOwned: 'DELETE FROM links_by_owner WHERE owner = ? AND created_at = ? AND key = ?',
  ownedFirst: 'SELECT created_at, key FROM links_by_owner WHERE owner = ? LIMIT ?',
  ownedAfter: 'SELECT created_at, key FROM links_by_owner WHERE owner = ? AND (created_at, key) < (?, ?) LIMIT ?',
  // The whole index, a page at a time (the key-worker's sweep); never on a request path.
  ownerIndex: 'SELECT owner, created_at, key FROM links_by_owner'
} as const

/**
 * Options of statements that give the same result however often they run: when a node dies with
 * one in flight, the driver may send it again to another replica instead of failing the request
 * (see tests/cluster). Lightweight transactions and counter updates are not, and keep the default.
 */
export const IDEMPOTENT = { prepare: true, isIdempotent: true } as const

// Cassandra logs a warning for each batch that spans partitions and is over
// batch_size_warn_threshold (5 KiB by default). It counts an update of link_clicks_daily as 166
// bytes whatever the key or the counts (measured on Cassandra 5.0: 40 updates of 3- to
// 64-character keys, "6.484KiB"); a batch within one partition is exempt.
const BATCH_WARN_BYTES = 5120
export const CLICK_UPDATE_BYTES = 166
/** Most click updates in one batch (24): a fifth of the warning threshold to spare. */
export const CLICK_BATCH_MAX = Math.floor(BATCH_WARN_BYTES * 0.8 / CLICK_UPDATE_BYTES)

/** A position in one owner's links, newest first: the entries after it are older (or as old, with a smaller key). */
export interface OwnedPosition {
  createdAt: Date
  key: string
}

/**
 * An entry of links_by_owner: the link the owner created at createdAt under key, if it was ever
 * stored. The key column holds the scoped key (domains.ts), so a default-domain entry is as it was
 * and the same key on two domains is two entries; parseScopedKey splits it.
 */
export interface OwnerIndexEntry extends OwnedPosition {
  owner: string
}

export interface OwnerIndexPage {
  entries: OwnerIndexEntry[]
  /** Where the next page starts (a Cassandra paging state); null after the last page. */
  next: string | null
}

/**
 * Whether an entry of the owner's list describes this very link. The entry is written before the
 * link, so a failed claim leaves one naming a key that someone else, or an older link, holds.
 */
export function isIndexedAs (link: Pick<Link, 'owner' | 'createdAt'>, owner: string, entry: Pick<OwnedPosition, 'createdAt'>): boolean {
  return link.owner === owner && link.createdAt.getTime() === entry.createdAt.getTime()
}

/**
 * The links_by_owner row of a link, as a write to send (link-index.ts sends it with the list's
 * entries, coalesced with those of concurrent creates); null for a link without owner.
 */
export function ownedEntryWrite (link: Pick<Link, 'key' | 'domain' | 'createdAt' | 'owner'>):
{ partition: string, query: string, params: unknown[] } | null {
  if (link.owner === null) return null
  return {
    partition: JSON.stringify(['links_by_owner', link.owner]),
    query: Q.indexOwned,
    params: [link.owner, link.createdAt, scopedKeyOf(link)]
  }
}

/** The domain of a link, '' for the default one. */
export function domainOf (link: Pick<Link, 'domain'>): string {
  return link.domain ?? DEFAULT_DOMAIN
}

/** The link's name outside its links row (domains.ts, scopedKey). */
export function scopedKeyOf (link: Pick<Link, 'key' | 'domain'>): string {
  return scopedKey(domainOf(link), link.key)
}

function toLink (key: string, domain: string, row: cassandra.types.Row): StoredLink | null {
  if (row['url'] == null || row['deleted_at'] != null) return null
  return {
    key,
    // Only set off the default domain: a default link reads back exactly as before domains existed.
    ...(domain === DEFAULT_DOMAIN ? {} : { domain }),
    url: row['url'] as string,
    createdAt: row['created_at'] as Date,
    expiresAt: (row['expires_at'] as Date | null) ?? null,
    owner: (row['owner'] as string | null) ?? null,
    title: (row['title'] as string | null) ?? null,
    tags: (row['tags'] as string[] | null) ?? [],
    version: (row['version'] as number | null) ?? 0,
    updatedAt: (row['updated_at'] as Date | null) ?? null,
    validFrom: (row['valid_from'] as Date | null) ?? null,
    disabled: row['disabled'] === true,
    maxClicks: (row['max_clicks'] as number | null) ?? null,
    fallbackUrl: (row['fallback_url'] as string | null) ?? null,
    forwardQuery: row['forward_query'] === true,
    redirectStatus: (row['redirect_status'] as RedirectStatus | null) ?? null
  }
}

export function isLive (link: Pick<Link, 'expiresAt'>, now = Date.now()): boolean {
  return link.expiresAt === null || link.expiresAt.getTime() > now
}

export interface DailyClicks {
  day: string
  clicks: number
  botClicks: number
}

export interface ClickUpdate {
  key: string
  /** UTC day, YYYY-MM-DD. */
  day: string
  clicks: number
  botClicks: number
}

// A null bound value writes a tombstone cell; an absent one (undefined: the driver sends it as
// "unset") writes nothing. A new or pooled row has no owner or expiry to delete, so writing
// nulls there would only leave tombstones for compaction and every read to step over.
const unlessNull = <T>(value: T | null): T | undefined => value ?? undefined
const unlessEmpty = (tags?: readonly string[]): readonly string[] | undefined => tags?.length ? tags : undefined

/** The rules of a new link, in Q.insertIfAbsent's and Q.activate's order; defaults are left unset. */
function newRuleParams (link: Link): unknown[] {
  return [
    unlessNull(link.validFrom ?? null), link.disabled === true ? true : undefined, unlessNull(link.maxClicks ?? null),
    unlessNull(link.fallbackUrl ?? null), link.forwardQuery === true ? true : undefined,
    unlessNull(link.redirectStatus ?? null)
  ]
}

function clickParams (u: ClickUpdate): unknown[] {
  const { Long, LocalDate } = cassandra.types
  return [Long.fromNumber(u.clicks), Long.fromNumber(u.botClicks), u.key, LocalDate.fromString(u.day)]
}

/**
 * Whether a conditional write that failed may still have been applied: the coordinator or the
 * connection gave up after the request was sent. Refusals before any work (no host, unavailable,
 * overloaded) applied nothing.
 */
export function mayHaveApplied (error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError) return true
  if (error instanceof cassandra.errors.ResponseError) {
    const codes = cassandra.types.responseErrorCodes
    return error.code === codes.writeTimeout || error.code === codes.writeFailure
  }
  return error instanceof cassandra.errors.DriverError && (error as { isSocketError?: boolean }).isSocketError === true
}

export function createLinkRepository (client: cassandra.Client) {
  // The serial consistency the client was built with (CASSANDRA_SERIAL_CONSISTENCY); the driver
  // keeps its options at run time without declaring them.
  const { options } = client as unknown as { options?: cassandra.ClientOptions }
  const serial = options?.queryOptions?.serialConsistency ?? cassandra.types.consistencies.localSerial

  /** The rows of keys of one bucket of a domain, read at the serial consistency (see Q.settled). */
  async function settledRows (keys: readonly string[], domain = DEFAULT_DOMAIN): Promise<cassandra.types.Row[]> {
    const params = [linkBucket(domain, keys[0]!), keys]
    const result = await client.execute(Q.settled, params, { prepare: true, consistency: serial })
    return result.rows
  }

  return {
    /**
     * The active link stored under the key, or null (unknown, still pooled, or deleted). Expiry is
     * the caller's call.
     */
    async find (key: string, domain = DEFAULT_DOMAIN): Promise<StoredLink | null> {
      const result = await client.execute(Q.find, [linkBucket(domain, key), key], IDEMPOTENT)
      const row = result.first()
      return row ? toLink(key, domain, row) : null
    },

    /** find() by the scoped key (domains.ts): what the redirect and the sweep hold. */
    async findScoped (scoped: string): Promise<StoredLink | null> {
      const { domain, key } = parseScopedKey(scoped)
      return await this.find(key, domain)
    },

    /**
     * Claims the key and stores the link in one lightweight transaction: used for aliases and
     * when create-service has to generate a key itself. False when the key was already taken.
     * When the answer is lost (a timeout, a dropped connection), the row is read back at the
     * serial consistency: the insert applied if the row holds this very link, did not if the row
     * holds another, and with no row at all the original error stands (nothing was stored).
     */
    async insertIfAbsent (link: Link, claimedBy: string): Promise<boolean> {
      const params = [
        linkBucket(domainOf(link), link.key), link.key, link.url, link.createdAt, unlessNull(link.expiresAt),
        unlessNull(link.owner),
        unlessNull(link.title ?? null), unlessEmpty(link.tags), link.createdAt, claimedBy, ...newRuleParams(link)
      ]
      try {
        return (await client.execute(Q.insertIfAbsent, params, { prepare: true })).wasApplied()
      } catch (error) {
        if (!mayHaveApplied(error)) throw error
        const [row] = await settledRows([link.key], domainOf(link))
        if (row === undefined) throw error
        return row['url'] === link.url && (row['owner'] ?? null) === link.owner &&
          (row['created_at'] as Date | null)?.getTime() === link.createdAt.getTime()
      }
    },

    /**
     * Leases pooled keys of one bucket to `holder` with one conditional batch (one Paxos round):
     * each key goes from 'pooled' to 'leased' only if it still is 'pooled', so a key Redis hands
     * out again (a replayed or restored pool) is never leased twice. Returns the keys now leased
     * to `holder`, which must be unique to this call: only its owner activates them, with a plain
     * write (activateLeased). Keys no longer pooled are left out; the batch applies all or
     * nothing, so it is sent again without them.
     */
    async leaseChunk (keys: readonly string[], holder: string): Promise<string[]> {
      // A key-worker's chunk is one bucket; keys of other buckets came from elsewhere (a hand-made
      // SADD) and are left out like any key that is not pooled.
      const bucket = bucketOf(keys[0] ?? '')
      let pending = [...new Set(keys)].filter((k) => bucketOf(k) === bucket)
      for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
        const now = new Date()
        let result: cassandra.types.ResultSet
        try {
          const leases = pending.map((key) => ({ query: Q.lease, params: [holder, now, bucket, key] }))
          result = await client.batch(leases, { prepare: true })
        } catch (error) {
          if (!mayHaveApplied(error)) throw error
          return (await settledRows(pending)).filter((r) => r['leased_by'] === holder).map((r) => r['key'] as string)
        }
        if (result.wasApplied()) return pending
        // Not applied: the answer lists the rows it found, with their state.
        const pooled = new Set(result.rows.filter((r) => r['state'] === 'pooled').map((r) => r['key'] as string))
        pending = pending.filter((k) => pooled.has(k))
      }
      return []
    },

    /**
     * Stores a link under a key leased to this caller (leaseChunk), or claimed by it alone. Pooled keys
     * live in the default domain's rows: a link of another domain is stored with insertIfAbsent instead.
     */
    async activateLeased (link: Link): Promise<void> {
      if (domainOf(link) !== DEFAULT_DOMAIN) throw new RangeError('activateLeased stores default-domain links only')
      const params = [
        link.url, link.createdAt, unlessNull(link.expiresAt), unlessNull(link.owner), unlessNull(link.title ?? null),
        unlessEmpty(link.tags), ...newRuleParams(link), bucketOf(link.key), link.key
      ]
      await client.execute(Q.activate, params, IDEMPOTENT)
    },

    /** Takes a generated key's default-domain row for a link of another domain (Q.reserve); false when taken. */
    async reserve (key: string, claimedBy: string): Promise<boolean> {
      const params = [bucketOf(key), key, new Date(), claimedBy]
      try {
        return (await client.execute(Q.reserve, params, { prepare: true })).wasApplied()
      } catch (error) {
        // A lost answer: the key may be ours or not; it is not used either way (a key costs nothing).
        if (mayHaveApplied(error)) return false
        throw error
      }
    },

    /**
     * Claims keys that all share one bucket (one partition) in one conditional batch: one Paxos
     * round for the whole batch. If any key exists the batch applies nothing, so it is retried
     * once without the keys Cassandra reported as existing.
     */
    async claimBatch (keys: string[], claimedBy: string): Promise<ClaimResult> {
      const conflicts: string[] = []
      let pending = keys
      for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
        const bucket = bucketOf(pending[0]!)
        if (pending.some((k) => bucketOf(k) !== bucket)) throw new RangeError('claimBatch needs keys from one bucket')
        const now = new Date()
        const queries = pending.map((key) => ({ query: Q.claim, params: [bucket, key, now, claimedBy] }))
        const result = await client.batch(queries, { prepare: true })
        if (result.wasApplied()) return { claimed: pending, conflicts }
        const existing = new Set(result.rows.filter((r) => r['key'] != null).map((r) => r['key'] as string))
        if (existing.size === 0) break // not applied for a reason we cannot attribute to a key: claim nothing
        conflicts.push(...pending.filter((k) => existing.has(k)))
        pending = pending.filter((k) => !existing.has(k))
      }
      return { claimed: [], conflicts }
    },

    /**
     * Applies the changes to the link if it is still at `link.version` and not deleted: true when
     * applied (the link is now at version + 1), false when another edit or a delete came first.
     * A lost answer is settled by reading the row back at the serial consistency: updated_at is
     * this edit's own instant, so a row at the next version with it is this edit.
     *
     * The edit takes Paxos' timestamp, the coordinator's clock; the creation wrote url with the
     * creating replica's clock. An edit within a clock skew of the creation could lose url by
     * timestamp; edits come seconds after a create in practice, far beyond an NTP-kept skew.
     */
    async applyEdit (link: Pick<StoredLink, 'key' | 'domain' | 'version'>, changes: LinkChanges, at: Date): Promise<boolean> {
      const tags = changes.tags === undefined ? undefined : changes.tags.length > 0 ? changes.tags : null
      const expected = link.version === 0 ? null : link.version
      const params = [
        changes.url, changes.expiresAt, changes.title, tags, changes.validFrom, changes.disabled, changes.maxClicks,
        changes.fallbackUrl, changes.forwardQuery, changes.redirectStatus, link.version + 1, at,
        linkBucket(domainOf(link), link.key), link.key, expected
      ]
      try {
        return (await client.execute(Q.edit, params, { prepare: true })).wasApplied()
      } catch (error) {
        if (!mayHaveApplied(error)) throw error
        const [row] = await settledRows([link.key], domainOf(link))
        const version = (row?.['version'] as number | null | undefined) ?? 0
        if (version === link.version) throw error
        return version === link.version + 1 && (row?.['updated_at'] as Date | null)?.getTime() === at.getTime()
      }
    },

    /** Records an applied edit in the link's history (by its scoped key); the same edit may be recorded again. */
    async recordEdit (key: string, edit: LinkEdit): Promise<void> {
      const { version, editedAt, editor, before, after } = edit
      const params = [key, version, editedAt, editor, JSON.stringify(before), JSON.stringify(after)]
      await client.execute(Q.recordEdit, params, IDEMPOTENT)
    },

    /** Up to `limit` edits of the link, newest first, from before version `before` (from the newest when null). */
    async edits (key: string, before: number | null, limit: number): Promise<LinkEdit[]> {
      const result = before === null
        ? await client.execute(Q.editsFirst, [key, limit], IDEMPOTENT)
        : await client.execute(Q.editsBefore, [key, before, limit], IDEMPOTENT)
      return result.rows.map((r) => ({
        version: r['version'] as number,
        editedAt: r['edited_at'] as Date,
        editor: r['editor'] as string,
        before: JSON.parse(r['before'] as string) as Record<string, unknown>,
        after: JSON.parse(r['after'] as string) as Record<string, unknown>
      }))
    },

    async dailyClicks (key: string): Promise<DailyClicks[]> {
      const result = await client.execute(Q.clicks, [key], IDEMPOTENT)
      return result.rows.map((r) => ({
        day: (r['day'] as cassandra.types.LocalDate).toString(),
        clicks: Number(r['clicks'] ?? 0),
        botClicks: Number(r['bot_clicks'] ?? 0)
      }))
    },

    async totalClicks (key: string): Promise<number> {
      const days = await this.dailyClicks(key)
      return days.reduce((sum, d) => sum + d.clicks, 0)
    },

    async addClicks (key: string, day: string, clicks: number, botClicks: number): Promise<void> {
      await client.execute(Q.addClicks, clickParams({ key, day, clicks, botClicks }), { prepare: true })
    },

    /**
     * Several counter updates in one unlogged counter batch: one round trip instead of one each
     * (the key-worker folds thousands a second). Send at most CLICK_BATCH_MAX updates at a time.
     * Like a single update, a batch that fails may still have been applied in part.
     */
    async addClicksBatch (updates: ClickUpdate[]): Promise<void> {
      if (updates.length === 0) return
      const queries = updates.map((u) => ({ query: Q.addClicks, params: clickParams(u) }))
      await client.batch(queries, { prepare: true, counter: true, logged: false })
    },

    /** Lists the link under its owner. Written before the link itself, so every stored link is listed. */
    async indexOwned (link: Pick<Link, 'key' | 'domain' | 'createdAt' | 'owner'>): Promise<void> {
      const write = ownedEntryWrite(link)
      if (write !== null) await client.execute(write.query, write.params, IDEMPOTENT)
    },

    /** Marks the link deleted and drops it from its owner's list, both or neither (a logged batch). */
    async markDeleted (link: Pick<Link, 'key' | 'domain' | 'createdAt' | 'owner'>, at = new Date()): Promise<void> {
      const mark = { query: Q.markDeleted, params: [at, linkBucket(domainOf(link), link.key), link.key] }
      if (link.owner === null) {
        await client.execute(mark.query, mark.params, IDEMPOTENT)
        return
      }
      // Idempotent too: the same values, and a retry carries the first attempt's write timestamp.
      const unindex = { query: Q.unindexOwned, params: [link.owner, link.createdAt, scopedKeyOf(link)] }
      await client.batch([mark, unindex], { ...IDEMPOTENT, logged: true })
    },

    /**
     * Marks the link deleted if it is still at `link.version` (an edit or a delete may have come
     * first): true when it was; markDeleted then finishes the delete. A lost answer is settled
     * like an edit's: deleted_at is this delete's own instant.
     */
    async markDeletedIf (link: Pick<StoredLink, 'key' | 'domain' | 'version'>, at: Date): Promise<boolean> {
      const params = [at, linkBucket(domainOf(link), link.key), link.key, link.version === 0 ? null : link.version]
      try {
        return (await client.execute(Q.deleteIf, params, { prepare: true })).wasApplied()
      } catch (error) {
        if (!mayHaveApplied(error)) throw error
        const [row] = await settledRows([link.key], domainOf(link))
        const deletedAt = row?.['deleted_at'] as Date | null | undefined
        if (deletedAt == null) throw error
        return deletedAt.getTime() === at.getTime()
      }
    },

    /** Up to `limit` entries of the owner's list after `after` (from the newest when null). */
    async ownedPage (owner: string, after: OwnedPosition | null, limit: number): Promise<OwnedPosition[]> {
      const result = after === null
        ? await client.execute(Q.ownedFirst, [owner, limit], IDEMPOTENT)
        : await client.execute(Q.ownedAfter, [owner, after.createdAt, after.key, limit], IDEMPOTENT)
      return result.rows.map((r) => ({ createdAt: r['created_at'] as Date, key: r['key'] as string }))
    },

    /**
     * Up to `limit` entries of the whole owner index, in token order, from `from` (the `next` of
     * the page before; null for the start). A page may hold fewer entries, even none, and still
     * have a next one.
     */
    async ownerIndexPage (from: string | null, limit: number): Promise<OwnerIndexPage> {
      const page = from === null ? {} : { pageState: from }
      const result = await client.execute(Q.ownerIndex, [], { ...IDEMPOTENT, fetchSize: limit, ...page })
      return {
        entries: result.rows.map((r) => ({ owner: r['owner'] as string, createdAt: r['created_at'] as Date, key: r['key'] as string })),
        next: result.pageState ?? null
      }
    },

    /** Drops one entry from its owner's list; the links row stays as it is. */
    async unindexOwned (entry: OwnerIndexEntry): Promise<void> {
      await client.execute(Q.unindexOwned, [entry.owner, entry.createdAt, entry.key], IDEMPOTENT)
    }
  }
}
export type LinkRepository = ReturnType<typeof createLinkRepository>
