import { CLICK_UPDATE_BYTES, createLinkRepository, type LinkRepository } from '@shortwave/common/link-repository'
import { clickField, redisKeys, type RedisKeys } from '@shortwave/common/redis-keys'
import { spyOnStatements } from '@shortwave/testing/cassandra-spy'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clickBatches, createClickFolder, groupClicks, type ClickFolderDeps } from '../src/click-folder.ts'

// Cassandra's default batch_size_warn_threshold: a batch over it is logged as a warning.
const BATCH_WARN_BYTES = 5120
import { buildWorker, metricValue, waitFor } from './helpers.ts'

describe('grouping click fields', () => {
  it('combines people and bot clicks of one key and day into one update', () => {
    const { groups, rejected } = groupClicks([
      [clickField('2025-01-02', 'abcdefg', false), '3'],
      [clickField('2025-01-02', 'abcdefg', true), '2'],
      [clickField('2025-01-03', 'abcdefg', false), '1'],
      [clickField('2025-01-02', 'my-alias', true), '7']
    ])
    expect(rejected).toEqual([])
    expect(groups).toEqual([
      { key: 'abcdefg', day: '2025-01-02', clicks: 3, botClicks: 2, fields: ['2025-01-02|abcdefg', '2025-01-02|abcdefg|bot'] },
      { key: 'abcdefg', day: '2025-01-03', clicks: 1, botClicks: 0, fields: ['2025-01-03|abcdefg'] },
      { key: 'my-alias', day: '2025-01-02', clicks: 0, botClicks: 7, fields: ['2025-01-02|my-alias|bot'] }
    ])
  })

  it('sets apart fields that would fail every counter update', () => {
    const { groups, rejected } = groupClicks([
      ['2025-02-30|abcdefg', '1'],
      ['yesterday|abcdefg', '1'],
      ['2025-01-02|a b', '1'],
      ['2025-01-02|abcdefg|robot', '1'],
      ['2025-01-02|abcdefg', 'many'],
      ['2025-01-02|abcdefg', '-4'],
      ['2025-01-02|abcdefg', '5']
    ])
    expect(rejected).toHaveLength(6)
    expect(groups).toEqual([{ key: 'abcdefg', day: '2025-01-02', clicks: 5, botClicks: 0, fields: ['2025-01-02|abcdefg'] }])
  })
})

describe('cutting counter updates into batches', () => {
  // 20,000 hash fields: 9,000 keys clicked by people and bots, one key on 60 days, 100 on 3 days.
  const entries: Array<[string, string]> = []
  for (let i = 0; i < 9000; i++) entries.push([clickField('2025-01-01', `one${i}`, false), '2'], [clickField('2025-01-01', `one${i}`, true), '1'])
  for (let d = 0; d < 60; d++) entries.push([clickField(new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10), 'many-days', false), '1'])
  for (let i = 0; i < 100; i++) for (let d = 1; d <= 3; d++) entries.push([clickField(`2025-01-0${d}`, `three${i}`, false), '1'])
  entries.push(...Array.from({ length: 20_000 - entries.length }, (_, i): [string, string] => [clickField('2025-01-02', `one${i}`, false), '1']))
  const { groups } = groupClicks(entries)

  it('keeps every batch of a large fold under Cassandra\'s batch size warning', () => {
    expect(entries).toHaveLength(20_000)
    const batches = clickBatches(groups)
    expect(batches.filter((batch) => batch.length * CLICK_UPDATE_BYTES > BATCH_WARN_BYTES).map((b) => b.length))
      .toEqual([])
    // Few round trips all the same: the batches are nearly full.
    expect(batches.length).toBeLessThan(groups.length * CLICK_UPDATE_BYTES / (BATCH_WARN_BYTES * 0.75))
  })

  it('puts every update in exactly one batch, the days of one key together where they fit', () => {
    const batches = clickBatches(groups)
    const ids = (list: typeof groups) => list.map((g) => `${g.key}|${g.day}`).sort()
    expect(ids(batches.flat())).toEqual(ids(groups))
    for (let i = 0; i < 100; i++) expect(batches.filter((batch) => batch.some((g) => g.key === `three${i}`))).toHaveLength(1)
  })
})

describe('folding clicks into Cassandra', () => {
  let infra: TestInfra
  let repo: LinkRepository
  let keys: RedisKeys

  beforeAll(async () => {
    infra = await createTestInfra('kw_clicks')
    repo = createLinkRepository(infra.cassandra)
    keys = redisKeys(infra.prefix)
  })
  afterAll(async () => { await infra?.close() })

  function folder (workerId: string, extra: Partial<ClickFolderDeps> = {}) {
    return createClickFolder({ redis: infra.redis, keys, repo, workerId, heartbeatTtlMs: 15_000, ...extra })
  }

  async function counters (key: string) {
    const days = await repo.dailyClicks(key)
    return Object.fromEntries(days.map((d) => [d.day, [d.clicks, d.botClicks]]))
  }

  it('adds the pending clicks to the daily counters, people and bots apart, and empties the hash', async () => {
    await repo.addClicks('fold001', '2025-03-01', 10, 1)
    await infra.redis.hset(keys.clicksPending, {
      [clickField('2025-03-01', 'fold001', false)]: '5',
      [clickField('2025-03-01', 'fold001', true)]: '2',
      [clickField('2025-03-02', 'fold001', false)]: '1',
      [clickField('2025-03-02', 'fold002', true)]: '4',
      'not a click field': '9'
    })
    const rejected: string[] = []
    const folded = await folder('fold-a', { onRejected: (fields) => rejected.push(...fields) }).foldPending()

    expect(folded).toBe(12)
    expect(rejected).toEqual(['not a click field'])
    expect(await counters('fold001')).toEqual({ '2025-03-01': [15, 3], '2025-03-02': [1, 0] })
    expect(await counters('fold002')).toEqual({ '2025-03-02': [0, 4] })
    expect(await infra.redis.exists(keys.clicksPending)).toBe(0)
    expect(await infra.redis.keys(keys.clicksFoldingPattern)).toEqual([])
    expect(await infra.redis.scard(keys.clicksFoldingIndex)).toBe(0)
  })

  it('folds a large backlog completely, each field once, in batches under the size warning', async () => {
    const fields: Record<string, string> = {}
    for (let i = 0; i < 3000; i++) fields[clickField('2025-04-01', `big${i % 1500}`, i >= 1500)] = String(1 + (i % 3))
    await infra.redis.hset(keys.clicksPending, fields)
    const expected = Object.values(fields).reduce((sum, v) => sum + Number(v), 0)
    const { client, sent } = spyOnStatements(infra.cassandra)

    expect(await folder('fold-b', { repo: createLinkRepository(client) }).foldPending()).toBe(expected)
    expect(await counters('big7')).toEqual({ '2025-04-01': [1 + (7 % 3), 1 + (1507 % 3)] })
    const sizes = sent.map((s) => s.cql.split('; ').length * CLICK_UPDATE_BYTES)
    expect(sizes.length).toBeGreaterThan(1500 * CLICK_UPDATE_BYTES / BATCH_WARN_BYTES)
    expect(sizes.filter((bytes) => bytes > BATCH_WARN_BYTES)).toEqual([])
  })

  it('keeps the clicks of a failed counter batch for the next pass and counts every click once', async () => {
    const fields: Record<string, string> = {}
    for (let i = 0; i < 500; i++) fields[clickField('2025-05-01', `flaky${i}`, false)] = String(1 + (i % 4))
    await infra.redis.hset(keys.clicksPending, fields)
    let failures = 0
    // Cassandra times out once, on the batch that holds flaky123, while other batches are in flight.
    const flaky: Pick<LinkRepository, 'addClicksBatch'> = {
      async addClicksBatch (updates) {
        if (failures === 0 && updates.some((u) => u.key === 'flaky123')) {
          failures++
          throw new Error('Cassandra timed out')
        }
        await repo.addClicksBatch(updates)
      }
    }

    await expect(folder('fold-f', { repo: flaky }).foldPending()).rejects.toThrow('Cassandra timed out')
    await folder('fold-f', { repo: flaky }).foldLeftovers()

    for (const i of [0, 123, 499]) expect(await counters(`flaky${i}`)).toEqual({ '2025-05-01': [1 + (i % 4), 0] })
    const days = await Promise.all(Object.keys(fields).map((_, i) => repo.dailyClicks(`flaky${i}`)))
    expect(days.reduce((sum, d) => sum + (d[0]?.clicks ?? 0), 0))
      .toBe(Object.values(fields).reduce((sum, v) => sum + Number(v), 0))
    expect(await infra.redis.keys(keys.clicksFoldingPattern)).toEqual([])
  })

  it('does nothing when no clicks are pending', async () => {
    expect(await folder('fold-c').foldPending()).toBe(0)
  })

  it('adopts the folding hash of a worker without a heartbeat and folds it exactly once', async () => {
    const orphan = keys.clicksFolding('dead-worker:1700000000000')
    await infra.redis.hset(orphan, { [clickField('2025-05-01', 'orphan1', false)]: '6', [clickField('2025-05-01', 'orphan1', true)]: '1' })
    // Two live workers look for leftovers at the same time; only one may get the hash.
    const results = await Promise.all([folder('live-a').foldLeftovers(), folder('live-b').foldLeftovers()])

    expect(results.sort()).toEqual([0, 7])
    expect(await counters('orphan1')).toEqual({ '2025-05-01': [6, 1] })
    expect(await infra.redis.exists(orphan)).toBe(0)
  })

  it('leaves the folding hash of a worker whose heartbeat is alive to that worker', async () => {
    const busy = folder('busy-worker')
    await busy.heartbeat()
    const theirs = keys.clicksFolding('busy-worker:1700000000001')
    await infra.redis.hset(theirs, clickField('2025-05-02', 'busy1', false), '3')

    expect(await folder('live-c').foldLeftovers()).toBe(0)
    expect(await infra.redis.hget(theirs, clickField('2025-05-02', 'busy1', false))).toBe('3')
    expect(await counters('busy1')).toEqual({})

    // Its own leftovers are what the worker folds when it starts again.
    expect(await busy.foldLeftovers()).toBe(3)
    expect(await counters('busy1')).toEqual({ '2025-05-02': [3, 0] })
  })

  it('finds the leftovers of a dead worker through the index, without scanning the keyspace again', async () => {
    const scans = { count: 0 }
    // The live worker's Redis client, counting the SCANs it sends.
    const counted = new Proxy(infra.redis, {
      get (target, property) {
        if (property === 'scan') scans.count++
        const value = Reflect.get(target, property, target) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
    })
    const live = folder('index-live', { redis: counted })
    await live.foldLeftovers()
    const scansAtStart = scans.count
    expect(scansAtStart).toBeGreaterThan(0)

    // A worker takes the pending clicks, fails to fold them, and dies.
    await infra.redis.hset(keys.clicksPending, clickField('2025-05-03', 'index01', false), '4')
    const failing: Pick<LinkRepository, 'addClicksBatch'> = { async addClicksBatch () { throw new Error('Cassandra timed out') } }
    await expect(folder('index-dead', { repo: failing }).foldPending()).rejects.toThrow('Cassandra timed out')
    const [left] = await infra.redis.smembers(keys.clicksFoldingIndex)
    expect(left).toMatch(/clicks:folding:index-dead:\d+$/)
    await infra.redis.del(keys.workerHeartbeat('index-dead'))

    expect(await live.foldLeftovers()).toBe(4)
    expect(scans.count).toBe(scansAtStart)
    expect(await counters('index01')).toEqual({ '2025-05-03': [4, 0] })
    expect(await infra.redis.keys(keys.clicksFoldingPattern)).toEqual([])
    expect(await infra.redis.scard(keys.clicksFoldingIndex)).toBe(0)
  })

  it('drops index entries whose hash is gone, and names that are not folding hashes', async () => {
    await infra.redis.sadd(keys.clicksFoldingIndex, keys.clicksFolding('gone-worker:1700000000002'), keys.clicksFolding('index-own:1700000000003'), `${infra.prefix}something-else`)
    expect(await folder('index-own').foldLeftovers()).toBe(0)
    expect(await infra.redis.scard(keys.clicksFoldingIndex)).toBe(0)
  })

  it('folds pending clicks in the background and once more on shutdown', async () => {
    await infra.redis.hset(keys.clicksPending, clickField('2025-06-01', 'bg00001', false), '2')
    const app = await buildWorker(infra, { WORKER_ID: 'bg-worker', CLICK_FOLD_INTERVAL_MS: '60000', POOL_LOW_WATER: '1', POOL_HIGH_WATER: '2' })
    try {
      await app.ready()
      // The first pass has folded the sentinel; the next pass is a minute away.
      await waitFor('the first fold', async () => (await counters('bg00001'))['2025-06-01']?.[0] === 2)
      await infra.redis.hincrby(keys.clicksPending, clickField('2025-06-01', 'bg00002', true), 5)
    } finally {
      await app.close()
    }
    expect(await counters('bg00002')).toEqual({ '2025-06-01': [0, 5] })
    expect(await metricValue(app, 'shortwave_clicks_folded_total')).toBe(7)
    expect(await infra.redis.exists(keys.workerHeartbeat('bg-worker'))).toBe(0)
  })
})
