import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backfillLinkList, CLICKS_JOB, LINKS_JOB, tokenRange } from '../src/cassandra/migrate-backfill.ts'
import { createLinkIndex } from '../src/link-index.ts'
import { createLinkRepository } from '../src/link-repository.ts'

// The backfill of the list's tables on the real Cassandra, small: which links it indexes, that it
// is idempotent, resumable and redone on request, and how it treats clicks the fold ranked first.
// tests/migration runs it on 100,000 links through the CLI while redirects are served.

let infra: TestInfra
const rows = async (query: string, params: unknown[]) =>
  (await infra.cassandra.execute(query, params, { prepare: true })).rows

beforeAll(async () => {
  infra = await createTestInfra('backfill')
})

afterAll(async () => {
  await infra?.close()
})

describe('the list backfill', () => {
  it('cuts the whole Murmur3 ring into ranges that touch and do not overlap', () => {
    const ranges = Array.from({ length: 4 }, (_, i) => tokenRange(i, 4).map(String))
    expect(ranges[0]![0]).toBe('-9223372036854775808')
    expect(ranges[3]![1]).toBe('9223372036854775807')
    for (let i = 1; i < 4; i++) expect(BigInt(ranges[i]![0]!)).toBe(BigInt(ranges[i - 1]![1]!) + 1n)
  })

  it('indexes owned stored links, not anonymous, pooled or deleted ones; resumes; redoes on request', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const at = new Date('2026-01-01T00:00:00Z')
    const owned = { key: 'bf-owned', url: 'https://example.com/backfill-page', createdAt: at, expiresAt: null, owner: 'o1', tags: ['x'] }
    await repo.insertIfAbsent(owned, 'test')
    await repo.insertIfAbsent({ ...owned, key: 'bf-anon', owner: null }, 'test')
    await repo.insertIfAbsent({ ...owned, key: 'bf-gone' }, 'test')
    await repo.markDeleted({ key: 'bf-gone', createdAt: at, owner: 'o1' })
    await repo.claimBatch(['bfp0001'], 'test')
    // Clicks: one link never ranked, one the fold ranked already (its total is the newer one).
    await repo.insertIfAbsent({ ...owned, key: 'bf-ranked' }, 'test')
    await repo.addClicks('bf-owned', '2026-01-02', 4, 0)
    await repo.addClicks('bf-ranked', '2026-01-02', 9, 0)
    await createLinkIndex(infra.cassandra).moveRank({ key: 'bf-ranked', owner: 'o1' }, '', 7, null)

    const log: string[] = []
    const [links, clicks] = await backfillLinkList(infra.cassandra, { ranges: 8, log: (m) => log.push(m) })
    expect(links).toMatchObject({ indexed: 2, ranges: 8 })
    expect(clicks).toMatchObject({ indexed: 1, ranges: 8 })
    const listed = await rows('SELECT key FROM link_list_by_created WHERE owner = ? AND domain = ?', ['o1', ''])
    expect(listed.map((r) => r['key']).sort()).toEqual(['bf-owned', 'bf-ranked'])
    expect((await rows('SELECT key FROM link_list_by_tag WHERE owner = ? AND domain = ? AND tag = ?', ['o1', '', 'x'])).length).toBe(2)
    expect((await rows('SELECT key FROM link_list_by_token WHERE owner = ? AND domain = ? AND prefix = ?', ['o1', '', 'backfi'])).length).toBe(2)
    const byClicks = await rows('SELECT clicks, key FROM link_list_by_clicks WHERE owner = ? AND domain = ?', ['o1', ''])
    // bf-ranked keeps the fold's 7 (its 0 entry from the links pass is stale: the rank names 7).
    expect(byClicks.map((r) => [Number(r['clicks']), r['key']])).toEqual([[7, 'bf-ranked'], [4, 'bf-owned'], [0, 'bf-ranked']])
    expect(log).toContain(`${LINKS_JOB}: done, 2 links in ${/done, 2 links in ([\d.]+) s/.exec(log.join('\n'))![1]} s`)

    // Done: a second run does nothing.
    const again = await backfillLinkList(infra.cassandra, { ranges: 8 })
    expect(again.map((o) => o.ranges)).toEqual([0, 0])

    // Interrupted half-way (ranges 0-3 recorded), a run does the rest only.
    await infra.cassandra.execute('DELETE FROM migration_progress WHERE job = ?', [LINKS_JOB], { prepare: true })
    for (let i = 0; i < 4; i++) {
      await infra.cassandra.execute('INSERT INTO migration_progress (job, range_index, links) VALUES (?, ?, 0)', [LINKS_JOB, i], { prepare: true })
    }
    const resumed: string[] = []
    const [rest] = await backfillLinkList(infra.cassandra, { ranges: 8, log: (m) => resumed.push(m) })
    expect(rest!.ranges).toBe(4)
    expect(resumed[0]).toBe(`${LINKS_JOB}: resuming, 4 of 8 token ranges done by an earlier run`)

    // --backfill-again: every range again, the same rows (idempotent).
    const redone = await backfillLinkList(infra.cassandra, { ranges: 8, again: true })
    expect(redone.map((o) => [o.indexed, o.ranges])).toEqual([[2, 8], [0, 8]])
    expect((await rows('SELECT key FROM link_list_by_created WHERE owner = ? AND domain = ?', ['o1', ''])).length).toBe(2)
    expect(await rows('SELECT range_index FROM migration_progress WHERE job = ?', [CLICKS_JOB])).toHaveLength(9)
  })
})
