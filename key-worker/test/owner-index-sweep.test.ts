import { createLinkRepository, type Link, type LinkRepository, type OwnerIndexEntry } from '@shortwave/common/link-repository'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { sweepOwnerIndex, type SweepDeps, type SweepSettings } from '../src/owner-index-sweeper.ts'
import { buildWorker, linkRows, metricValue, waitFor } from './helpers.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
// Every test sweeps "now" at NOW; what it seeds is dated relative to it.
const NOW = Date.parse('2031-05-01T12:00:00Z')
const ago = (ms: number): Date => new Date(NOW - ms)
const settings: SweepSettings = { graceMs: 10 * MINUTE, rowsPerSecond: 10_000 }

describe('owner index sweep', () => {
  let infra: TestInfra
  let repo: LinkRepository

  beforeAll(async () => {
    infra = await createTestInfra('kw_sweep')
    repo = createLinkRepository(infra.cassandra)
  })
  afterAll(async () => { await infra?.close() })
  // The sweep reads the whole table: each test starts from an empty index.
  beforeEach(async () => {
    for (const entry of await allEntries()) await repo.unindexOwned(entry)
  })

  async function allEntries (): Promise<OwnerIndexEntry[]> {
    const entries: OwnerIndexEntry[] = []
    let from: string | null = null
    do {
      const page = await repo.ownerIndexPage(from, 500)
      entries.push(...page.entries)
      from = page.next
    } while (from !== null)
    return entries
  }

  const describeEntry = (e: OwnerIndexEntry): string => `${e.owner}/${e.key}@${e.createdAt.toISOString()}`
  const entryNames = async (): Promise<string[]> => (await allEntries()).map(describeEntry).sort()

  /** A link stored the way create-service stores one: listed first, then written under its key. */
  async function storeLink (
    key: string,
    owner: string,
    createdAt: Date,
    expiresAt: Date | null = null
  ): Promise<Link & OwnerIndexEntry> {
    const link = { key, url: `https://example.com/${key}`, createdAt, expiresAt, owner }
    await repo.indexOwned(link)
    expect(await repo.insertIfAbsent(link, 'create-service')).toBe(true)
    return link
  }

  /** An entry whose create stopped after listing the link. */
  async function listOnly (key: string, owner: string, createdAt: Date): Promise<OwnerIndexEntry> {
    const entry = { key, owner, createdAt }
    await repo.indexOwned(entry)
    return entry
  }

  function sweep (deps: Partial<SweepDeps> = {}, overrides: Partial<SweepSettings> = {}) {
    return sweepOwnerIndex({ repo, ...deps }, { ...settings, ...overrides }, { now: NOW })
  }

  it('drops the entries a listing skips once they are past the grace period, and keeps the rest', async () => {
    // Kept: live links (one expiring later), and an orphan too young to judge.
    const live = await storeLink('swLive1', 'ak_a', ago(HOUR))
    const later = await storeLink('swLive2', 'ak_a', ago(2 * HOUR), new Date(NOW + HOUR))
    const young = await listOnly('swYoung', 'ak_a', ago(MINUTE))
    // Dropped: no link at all (a bypass claim that never ran) …
    await listOnly('swNone1', 'ak_a', ago(HOUR))
    // … a claimed key whose create died between taking it from the pool and writing the link …
    expect((await repo.claimBatch(['swPool1'], 'worker')).claimed).toEqual(['swPool1'])
    await listOnly('swPool1', 'ak_a', ago(HOUR))
    // … another owner's link (a lost alias race) …
    const bobs = await storeLink('swTaken', 'ak_b', ago(3 * HOUR))
    await listOnly('swTaken', 'ak_a', ago(HOUR))
    // … an older link of the same owner under the same key (a second claim of a taken alias) …
    const older = await storeLink('swOlder', 'ak_a', ago(5 * HOUR))
    await listOnly('swOlder', 'ak_a', ago(4 * HOUR))
    // … and an expired link.
    await storeLink('swGone1', 'ak_a', ago(2 * HOUR), ago(MINUTE))
    const rowsBefore = await linkRows(infra)

    const outcome = await sweep()

    expect(outcome)
      .toEqual({ scanned: 10, young: 1, removed: { no_link: 2, other_link: 2, expired: 1 }, complete: true })
    expect(await entryNames()).toEqual([live, later, young, bobs, older].map(describeEntry).sort())
    // The links rows are the source of truth and stay exactly as they were.
    expect(await linkRows(infra)).toEqual(rowsBefore)
    expect(await repo.find('swGone1')).toMatchObject({ owner: 'ak_a' })
  })

  it('leaves an orphaned entry younger than the grace period, and drops it once it is older', async () => {
    const orphan = await listOnly('swLate1', 'ak_c', ago(5 * MINUTE))
    expect((await sweep()).removed.no_link).toBe(0)
    expect(await entryNames()).toEqual([describeEntry(orphan)])

    const outcome = await sweepOwnerIndex({ repo }, settings, { now: NOW + 6 * MINUTE })
    expect(outcome.removed.no_link).toBe(1)
    expect(await allEntries()).toEqual([])
  })

  it('is idempotent: a second sweep finds nothing more to drop', async () => {
    const live = await storeLink('swIdem1', 'ak_d', ago(HOUR))
    await listOnly('swIdem2', 'ak_d', ago(HOUR))
    await storeLink('swIdem3', 'ak_d', ago(2 * HOUR), ago(HOUR))

    expect((await sweep()).removed).toEqual({ no_link: 1, other_link: 0, expired: 1 })
    expect(await sweep())
      .toEqual({ scanned: 1, young: 0, removed: { no_link: 0, other_link: 0, expired: 0 }, complete: true })
    expect(await entryNames()).toEqual([describeEntry(live)])
  })

  it('runs side by side with another sweep without harm, across many pages', async () => {
    const kept: OwnerIndexEntry[] = []
    for (let i = 0; i < 12; i++) kept.push(await storeLink(`swPair${String(i).padStart(2, '0')}`, `ak_p${i % 3}`, ago(HOUR)))
    for (let i = 0; i < 30; i++) await listOnly(`swOrph${String(i).padStart(2, '0')}`, `ak_p${i % 3}`, ago(HOUR))
    const rowsBefore = await linkRows(infra)

    // Pages of 5, no pauses: the two sweeps interleave their reads and deletes.
    const fast = { pause: async () => {} }
    const [a, b] = await Promise.all([sweep(fast, { rowsPerSecond: 5 }), sweep(fast, { rowsPerSecond: 5 })])
    expect(a.complete && b.complete).toBe(true)
    // Each orphan is dropped by one sweep or both (the same DELETE twice), none is missed.
    expect(a.removed.no_link + b.removed.no_link).toBeGreaterThanOrEqual(30)
    expect(a.removed.no_link + b.removed.no_link).toBeLessThanOrEqual(60)
    expect(await entryNames()).toEqual(kept.map(describeEntry).sort())
    expect(await linkRows(infra)).toEqual(rowsBefore)
  })

  it('holds the scan to the configured number of entries per second', async () => {
    for (let i = 0; i < 23; i++) await storeLink(`swRate${String(i).padStart(2, '0')}`, 'ak_r', ago(HOUR))
    // A clock that only moves when the sweep pauses: Cassandra's own time does not count.
    let clock = 0
    const pauses: number[] = []
    const pause = async (ms: number): Promise<void> => {
      pauses.push(ms)
      clock += ms
    }

    const outcome = await sweep({ clock: () => clock, pause }, { rowsPerSecond: 4 })

    expect(outcome.scanned).toBe(23)
    // Every page but the last is followed by its share of time: 4 entries, one second.
    expect(pauses.length).toBeGreaterThanOrEqual(5)
    expect(clock).toBeGreaterThanOrEqual((23 - 4) * 1000 / 4)
    expect(clock).toBeLessThanOrEqual(23 * 1000 / 4)
  })

  it('starts no new page once the signal aborts, and says the pass is incomplete', async () => {
    for (let i = 0; i < 10; i++) await listOnly(`swStop${i}`, 'ak_s', ago(HOUR))
    const controller = new AbortController()
    const pause = async (): Promise<void> => { controller.abort() }

    const outcome = await sweepOwnerIndex(
      { repo, pause }, { ...settings, rowsPerSecond: 3 }, { now: NOW, signal: controller.signal })

    expect(outcome).toMatchObject({ scanned: 3, removed: { no_link: 3 }, complete: false })
    expect(await allEntries()).toHaveLength(7)
  })
})

describe('the sweep in the key-worker', () => {
  let infra: TestInfra
  let repo: LinkRepository
  // Keeps the refill light: the pool is not what these tests are about.
  const quiet = { POOL_LOW_WATER: '1', POOL_HIGH_WATER: '2', CLICK_FOLD_INTERVAL_MS: '60000' }

  beforeAll(async () => {
    infra = await createTestInfra('kw_sweepapp')
    repo = createLinkRepository(infra.cassandra)
  })
  afterAll(async () => { await infra?.close() })

  it('sweeps when it starts, and counts what it read and dropped', async () => {
    const old = new Date(Date.now() - 2 * HOUR)
    const live = { key: 'swApp01', url: 'https://example.com/a', createdAt: old, expiresAt: null, owner: 'ak_app' }
    await repo.indexOwned(live)
    await repo.insertIfAbsent(live, 'create-service')
    await repo.indexOwned({ key: 'swApp02', owner: 'ak_app', createdAt: old })

    const app = await buildWorker(infra, { ...quiet, WORKER_ID: 'sweep-a' })
    try {
      await app.ready()
      await waitFor('a complete sweep', async () => (await app.inject('/metrics')).body.includes('shortwave_owner_index_sweep_duration_seconds_count{service="key-worker"} 1'))
      expect(await metricValue(app, 'shortwave_owner_index_scanned_total')).toBe(2)
      expect((await app.inject('/metrics')).body).toContain('shortwave_owner_index_removed_total{reason="no_link",service="key-worker"} 1')
      expect(await repo.ownedPage('ak_app', null, 10)).toEqual([{ key: 'swApp01', createdAt: old }])
    } finally {
      await app.close()
    }
  })

  it('stops a slow sweep at shutdown instead of finishing it', async () => {
    const old = new Date(Date.now() - 2 * HOUR)
    for (let i = 0; i < 20; i++) await repo.indexOwned({ key: `swSlow${String(i).padStart(2, '0')}`, owner: 'ak_slow', createdAt: old })
    // One entry a second: the whole pass would take over 20 seconds.
    const app = await buildWorker(infra, { ...quiet, WORKER_ID: 'sweep-b', OWNER_SWEEP_ROWS_PER_SECOND: '1' })
    await app.ready()
    await waitFor('the sweep under way', async () => await metricValue(app, 'shortwave_owner_index_scanned_total') > 0)
    await app.close()
    expect(await metricValue(app, 'shortwave_owner_index_scanned_total')).toBeLessThan(10)
    expect((await repo.ownedPage('ak_slow', null, 30)).length).toBeGreaterThan(10)
  })
})
