import { dimensionField, clickField, redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickDimensions } from '../src/analytics/click-dimensions.ts'
import { createClickRecorder } from '../src/analytics/click-recorder.ts'
import { bundledCountryDatabase, openCountryLookup, type CountryLookup } from '../src/analytics/country-lookup.ts'
import { createDailySalt } from '../src/analytics/daily-salt.ts'
import { createUserAgentParser } from '../src/analytics/user-agent-dimensions.ts'
import { createVisitorBuffer } from '../src/analytics/visitor-buffer.ts'
import { createClickBuffer } from '../src/click-buffer.ts'

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
const NOW = Date.UTC(2026, 2, 4, 10)
const DAY = '2026-03-04'

let infra: TestInfra
let countries: CountryLookup
let recorders = 0

beforeAll(async () => {
  infra = await createTestInfra('rd_recorder')
  countries = await openCountryLookup(bundledCountryDatabase())
})

afterAll(async () => {
  countries?.close()
  await infra?.close()
})

/** A recorder on real buffers of its own (their own hashes in Redis). */
function recorder (maxPending = 1000) {
  const n = ++recorders
  const keys = redisKeys(`${infra.prefix}${n}:`)
  const clicks = createClickBuffer({ redis: infra.redis, hashKey: keys.clicksPending, seqKey: `${keys.clicksPending}:seq`, maxFields: 1000, now: () => NOW })
  const dimensions = createClickBuffer({ redis: infra.redis, hashKey: keys.dimensionsPending, seqKey: `${keys.dimensionsPending}:seq`, maxFields: 1000 })
  const visitors = createVisitorBuffer({ redis: infra.redis, keyOf: keys.visitors, maxHashes: 1000, ttlSeconds: 60 })
  const derive = createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 100 }) })
  const salt = createDailySalt({ now: () => NOW })
  const r = createClickRecorder({ clicks, dimensions, visitors, derive, salt, maxPending })
  return { r, keys }
}

const person = { referer: 'https://www.example.org/post', userAgent: CHROME, address: '81.2.69.142', query: 'utm_source=Mail' }

describe('the click recorder', () => {
  it('holds a click until the flush, then counts it with its dimensions and its visitor', async () => {
    const { r, keys } = recorder()
    r.record('rec1', person)
    r.record('rec1', person)
    r.record('rec1', { ...person, address: '8.8.8.8' })
    // Nothing reaches Redis before the flush, and nothing is parsed yet.
    expect(r.pending).toBe(3)
    expect(await infra.redis.exists(keys.clicksPending, keys.dimensionsPending)).toBe(0)

    await r.flush()
    expect(r.pending).toBe(0)
    expect(await infra.redis.hgetall(keys.clicksPending)).toEqual({ [clickField(DAY, 'rec1', false)]: '3' })
    const dims = await infra.redis.hgetall(keys.dimensionsPending)
    expect(dims).toMatchObject({
      [dimensionField(DAY, 'rec1', 'audience', 'people')]: '3',
      [dimensionField(DAY, 'rec1', 'referrer', 'example.org')]: '3',
      [dimensionField(DAY, 'rec1', 'browser', 'chrome')]: '3',
      [dimensionField(DAY, 'rec1', 'utm_source', 'mail')]: '3',
      [dimensionField(DAY, 'rec1', 'utm_campaign', 'none')]: '3'
    })
    // Nine fields for every click: eight dimensions and the audience.
    const perDimension = new Map<string, number>()
    for (const [field, count] of Object.entries(dims)) {
      const dimension = field.split('|')[2]!
      perDimension.set(dimension, (perDimension.get(dimension) ?? 0) + Number(count))
    }
    expect([...perDimension.values()]).toEqual(Array(9).fill(3))
    // Two visitors: the same browser from two addresses.
    expect(await infra.redis.pfcount(keys.visitors(DAY, 'link:rec1'))).toBe(2)
  })

  it('decides bot or person in the flush: a bot counts apart, with no dimensions and no visitor', async () => {
    const { r, keys } = recorder()
    r.record('rec2', { ...person, userAgent: GOOGLEBOT })
    await r.flush()
    expect(await infra.redis.hgetall(keys.clicksPending)).toEqual({ [clickField(DAY, 'rec2', true)]: '1' })
    expect(await infra.redis.hgetall(keys.dimensionsPending)).toEqual({ [dimensionField(DAY, 'rec2', 'audience', 'bot')]: '1' })
    expect(await infra.redis.exists(keys.visitors(DAY, 'link:rec2'))).toBe(0)
  })

  it('still counts a click past its bound, under "unknown" in every dimension', async () => {
    const { r, keys } = recorder(1)
    r.record('rec3', person)
    r.record('rec3', person)
    r.record('rec3', { ...person, userAgent: GOOGLEBOT })
    expect(r.pending).toBe(1)
    expect(r.stats.overflow).toBe(2)
    await r.flush()
    expect(await infra.redis.hgetall(keys.clicksPending)).toEqual({
      [clickField(DAY, 'rec3', false)]: '2', [clickField(DAY, 'rec3', true)]: '1'
    })
    const dims = await infra.redis.hgetall(keys.dimensionsPending)
    expect(dims[dimensionField(DAY, 'rec3', 'country', 'unknown')]).toBe('1')
    expect(dims[dimensionField(DAY, 'rec3', 'country', 'GB')]).toBe('1')
    expect(dims[dimensionField(DAY, 'rec3', 'audience', 'people')]).toBe('2')
  })

  it('files a click under the day it was recorded on, not the day of the flush', async () => {
    let now = Date.UTC(2026, 2, 4, 23, 59, 59, 900)
    const keys = redisKeys(`${infra.prefix}midnight:`)
    const clicks = createClickBuffer({ redis: infra.redis, hashKey: keys.clicksPending, seqKey: `${keys.clicksPending}:seq`, maxFields: 10, now: () => now })
    const dimensions = createClickBuffer({ redis: infra.redis, hashKey: keys.dimensionsPending, seqKey: `${keys.dimensionsPending}:seq`, maxFields: 100 })
    const r = createClickRecorder({
      clicks,
      dimensions,
      visitors: createVisitorBuffer({ redis: infra.redis, keyOf: keys.visitors, maxHashes: 10, ttlSeconds: 60 }),
      derive: createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 10 }) }),
      salt: createDailySalt({ now: () => now }),
      maxPending: 10
    })
    r.record('rec4', person)
    now += 1000
    await r.flush()
    expect(await infra.redis.hgetall(keys.clicksPending)).toEqual({ [clickField('2026-03-04', 'rec4', false)]: '1' })
    expect(await infra.redis.pfcount(keys.visitors('2026-03-04', 'link:rec4'))).toBe(1)
  })
})
