import { createClickRollups, linkScope, ownerScope, type ClickRollups } from '@shortwave/common/click-rollups'
import { dimensionField, redisKeys, type RedisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDimensionFolder, groupDimensions } from '../src/dimension-folder.ts'

const DAY = '2026-03-04'

describe('grouping dimension fields', () => {
  it('collects a link-day\'s fields into one group, values that hold "|" whole', () => {
    const { groups, rejected } = groupDimensions([
      [dimensionField(DAY, 'abcdefg', 'referrer', 'google.com'), '3'],
      [dimensionField(DAY, 'abcdefg', 'utm_campaign', 'spring|sale'), '2'],
      [dimensionField(DAY, 'abcdefg', 'audience', 'people'), '5'],
      [dimensionField(DAY, 'go.example.com/launch', 'country', 'DE'), '1']
    ])
    expect(rejected).toEqual([])
    const plain = (counts: Map<string, Map<string, number>>) =>
      Object.fromEntries([...counts].map(([d, v]) => [d, Object.fromEntries(v)]))
    expect(groups.map((g) => [g.key, g.day, plain(g.counts)])).toEqual([
      ['abcdefg', DAY, { referrer: { 'google.com': 3 }, utm_campaign: { 'spring|sale': 2 }, audience: { people: 5 } }],
      ['go.example.com/launch', DAY, { country: { DE: 1 } }]
    ])
  })

  it('sets apart fields no fold could write', () => {
    const { groups, rejected } = groupDimensions([
      ['2026-02-30|abcdefg|referrer|x.com', '1'],
      [`${DAY}|a b|referrer|x.com`, '1'],
      [`${DAY}|abcdefg|planet|mars`, '1'],
      [`${DAY}|abcdefg|referrer|`, '1'],
      [`${DAY}|abcdefg|referrer`, '1'],
      [`${DAY}|abcdefg|referrer|x.com`, '-1'],
      [`${DAY}|abcdefg|referrer|x.com`, '2']
    ])
    expect(rejected).toHaveLength(6)
    expect(groups).toHaveLength(1)
  })
})

describe('folding dimensions into the rollups', () => {
  let infra: TestInfra
  let keys: RedisKeys
  let rollups: ClickRollups
  let folds = 0

  beforeAll(async () => {
    infra = await createTestInfra('kw_dimensions')
    keys = redisKeys(infra.prefix)
    rollups = createClickRollups(infra.cassandra)
  })

  afterAll(async () => {
    await infra?.close()
  })

  function folder (owners: Record<string, string> = {}) {
    return createDimensionFolder({
      redis: infra.redis,
      keys,
      rollups,
      ownerOf: async (key) => owners[key] ?? null,
      workerId: `dims-${++folds}`,
      heartbeatTtlMs: 15_000,
      visitorsTtlSeconds: 60
    })
  }

  const rowsOf = async (scope: string, dimension: string): Promise<Record<string, number>> =>
    Object.fromEntries((await rollups.range(scope, dimension, DAY, DAY)).map((r) => [r.value, r.clicks]))

  it('writes a link\'s rows and its owner\'s, with the day\'s unique visitors from the HyperLogLog', async () => {
    await infra.redis.hset(keys.dimensionsPending,
      dimensionField(DAY, 'fold1', 'audience', 'people'), '4',
      dimensionField(DAY, 'fold1', 'audience', 'bot'), '1',
      dimensionField(DAY, 'fold1', 'country', 'DE'), '3',
      dimensionField(DAY, 'fold1', 'country', 'FR'), '1')
    await infra.redis.pfadd(keys.visitors(DAY, linkScope('fold1')), 'a1', 'b2', 'c3')
    expect(await folder({ fold1: 'owner-1' }).foldPending()).toBe(5)

    expect(await rowsOf(linkScope('fold1'), 'country')).toEqual({ DE: 3, FR: 1 })
    expect(await rowsOf(ownerScope('owner-1'), 'country')).toEqual({ DE: 3, FR: 1 })
    expect(await rowsOf(ownerScope('owner-1'), 'link')).toEqual({ fold1: 4 })
    expect(await rowsOf(ownerScope('owner-1'), 'audience')).toEqual({ people: 4, bot: 1 })
    expect(await rollups.visitors(linkScope('fold1'), DAY, DAY)).toEqual([{ day: DAY, visitors: 3 }])
    expect(await rollups.visitors(ownerScope('owner-1'), DAY, DAY)).toEqual([{ day: DAY, visitors: 3 }])
    expect(await infra.redis.exists(keys.dimensionsPending)).toBe(0)
  })

  it('keeps the first 100 referrers of a link-day and counts the rest as "other", across folds', async () => {
    const worker = folder()
    const fields: string[] = []
    for (let i = 0; i < 80; i++) fields.push(dimensionField(DAY, 'storm', 'referrer', `site${i}.example`), '1')
    await infra.redis.hset(keys.dimensionsPending, ...fields)
    await worker.foldPending()
    fields.length = 0
    // A second fold: 20 more fit, the other 40 new ones do not; one already stored still counts as itself.
    for (let i = 80; i < 140; i++) fields.push(dimensionField(DAY, 'storm', 'referrer', `site${i}.example`), '2')
    fields.push(dimensionField(DAY, 'storm', 'referrer', 'site3.example'), '5')
    await infra.redis.hset(keys.dimensionsPending, ...fields)
    await worker.foldPending()

    const rows = await rowsOf(linkScope('storm'), 'referrer')
    expect(Object.keys(rows)).toHaveLength(101)
    expect(rows['other']).toBe(40 * 2)
    expect(rows['site3.example']).toBe(6)
    // Nothing lost: the rows add up to every click sent.
    expect(Object.values(rows).reduce((a, b) => a + b, 0)).toBe(80 + 60 * 2 + 5)
  })

  it('lets another worker add at most 100 more values to a full link-day, then reads what is stored', async () => {
    const fields: string[] = []
    for (let i = 0; i < 150; i++) fields.push(dimensionField(DAY, 'storm2', 'referrer', `site${i}.example`), '1')
    await infra.redis.hset(keys.dimensionsPending, ...fields)
    await folder().foldPending()
    fields.length = 0
    for (let i = 150; i < 400; i++) fields.push(dimensionField(DAY, 'storm2', 'referrer', `site${i}.example`), '1')
    await infra.redis.hset(keys.dimensionsPending, ...fields)
    // A worker that never folded this link-day (a second one, or the first after a restart).
    const fresh = folder()
    await fresh.foldPending()
    const rows = await rowsOf(linkScope('storm2'), 'referrer')
    expect(Object.keys(rows).length).toBe(201)
    expect(Object.values(rows).reduce((a, b) => a + b, 0)).toBe(400)
    // Full now, as Cassandra says: nothing new gets a row of its own.
    await infra.redis.hset(keys.dimensionsPending, dimensionField(DAY, 'storm2', 'referrer', 'late.example'), '3')
    await fresh.foldPending()
    expect((await rowsOf(linkScope('storm2'), 'referrer'))['late.example']).toBeUndefined()
  })

  it('drops malformed fields and folds the rest', async () => {
    await infra.redis.hset(keys.dimensionsPending,
      `${DAY}|bad|planet|mars`, '1',
      dimensionField(DAY, 'good', 'os', 'linux'), '2')
    const rejected: string[] = []
    const f = createDimensionFolder({
      redis: infra.redis,
      keys,
      rollups,
      ownerOf: async () => null,
      workerId: 'dims-reject',
      heartbeatTtlMs: 15_000,
      visitorsTtlSeconds: 60,
      onRejected: (list) => rejected.push(...list)
    })
    await f.foldPending()
    expect(rejected).toEqual([`${DAY}|bad|planet|mars`])
    expect(await rowsOf(linkScope('good'), 'os')).toEqual({ linux: 2 })
  })
})
