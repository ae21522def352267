// Migration 009: the tables behind GET /api/v1/links (tag, q, sort, order, domain). Each is read by
// its partition key alone, one partition per listing and domain (a listing of every domain merges
// the partitions of the owner's domains): no ALLOW FILTERING, no scan. Every entry is
// written before the link row it names (create) or its new state (edit), so a stored link is
// always listed; an entry whose link never got stored, or no longer has that tag, word or click
// count, is skipped when read, because the links row stays the source of truth. `domain` is ''
// for the default domain, part of each entry's identity (the same key on two domains: two links).
// Every table's comment says which query it serves.

const listEntry = (name: string, partition: string, extra: string, comment: string): string =>
  `CREATE TABLE IF NOT EXISTS ${name} (
    owner text,
    domain text,${extra}
    created_at timestamp,
    key text,
    PRIMARY KEY ((${partition}), created_at, key)
  ) WITH CLUSTERING ORDER BY (created_at DESC, key DESC) AND comment = '${comment}'`

export const LINK_LIST_TABLES: string[] = [
  // Newest first as stored; oldest first by reading the partition reversed (ORDER BY … ASC).
  // links_by_owner stays as it is (the key-worker's sweep walks it); it has no domain.
  listEntry('link_list_by_created', 'owner, domain', '',
    'GET /api/v1/links [sort=created] [order=asc|desc] [domain=]: the links of one owner on one domain by creation time'),
  listEntry('link_list_by_tag', 'owner, domain, tag', '\n    tag text,',
    'GET /api/v1/links?tag=T [sort=created] [order=]: the links of one owner on one domain with tag T, by creation time'),
  // A link has one row per prefix of 3 and of 6 characters of each of its words
  // (common/src/link-search.ts).
  listEntry('link_list_by_token', 'owner, domain, prefix', '\n    prefix text,',
    'GET /api/v1/links?q=Q [sort=created] [order=]: links with a word starting with the longest word of Q, by creation time'),
  // Clicks as of the key-worker's last fold of the link (key-worker/src/click-rank.ts): the fold
  // moves the entry (new row, then the old one deleted) and records where in link_click_rank. A
  // new link's entry has 0 clicks and no rank row yet.
  `CREATE TABLE IF NOT EXISTS link_list_by_clicks (
    owner text,
    domain text,
    clicks bigint,
    key text,
    PRIMARY KEY ((owner, domain), clicks, key)
  ) WITH CLUSTERING ORDER BY (clicks DESC, key DESC)
    AND comment = 'GET /api/v1/links?sort=clicks [order=]: the links of one owner on one domain by clicks as of the last fold'`,
  // The domains other than the default one an owner has links on: a listing without domain= reads
  // each of their partitions (and the default domain's) and merges them. Written with each such
  // link's entries; never removed (a domain left without links costs its listings one empty read).
  `CREATE TABLE IF NOT EXISTS link_owner_domains (
    owner text,
    domain text,
    PRIMARY KEY ((owner), domain)
  ) WITH comment = 'GET /api/v1/links without domain=: the domains besides the default one whose partitions a listing merges'`,
  // key is the scoped key (domains.ts), as in link_clicks_daily, which is what the fold knows.
  `CREATE TABLE IF NOT EXISTS link_click_rank (
    key text PRIMARY KEY,
    owner text,
    domain text,
    clicks bigint,
    ranked_at timestamp
  ) WITH comment = 'Where a link stands in link_list_by_clicks: read by the fold to move its entry, and by a sort=clicks listing to skip stale entries'`,
  // The backfill of these tables from existing links (npm run migrate; migrate-backfill.ts): one
  // row per token range done, so an interrupted run resumes where it stopped.
  `CREATE TABLE IF NOT EXISTS migration_progress (
    job text,
    range_index int,
    links int,
    done_at timestamp,
    PRIMARY KEY ((job), range_index)
  ) WITH comment = 'npm run migrate: the token ranges of links a backfill job has finished'`
]
