import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { redisKeys } from '@shortwave/common/redis-keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickCap } from '../src/click-cap.ts'

let infra: TestInfra
let links = 0

beforeAll(async () => { infra = await createTestInfra('rd_cap') })
afterAll(async () => { await infra?.close() })

function cap (stored: Record<string, number> = {}) {
  const seeds: string[] = []
  const keys = redisKeys(infra.prefix)
  return {
    seeds,
    cap: createClickCap({
      redis: infra.redis,
      counterKey: keys.clickCap,
      storedClicks: async (key) => { seeds.push(key); return stored[key] ?? 0 }
    })
  }
}

describe('click cap', () => {
  it('numbers the GETs of a link 1, 2, 3… and reads Cassandra only to seed a missing counter', async () => {
    const { cap: c, seeds } = cap()
    const key = `k${++links}`
    expect(await c.peek(key)).toBe(1)
    expect([await c.next(key), await c.next(key), await c.next(key)]).toEqual([1, 2, 3])
    expect(await c.peek(key)).toBe(4)
    expect(seeds).toEqual([key, key]) // peek's read, then the first next's seed; none after
  })

  it('gives each of many concurrent GETs from two replicas its own number', async () => {
    const key = `k${++links}`
    const a = cap().cap
    const b = cap().cap
    const numbers = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? a : b).next(key)))
    expect(numbers.toSorted((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
  })

  it('carries on from the clicks Cassandra holds when Redis lost the counter', async () => {
    const key = `k${++links}`
    const { cap: c } = cap({ [key]: 41 })
    expect(await c.next(key)).toBe(42)
    await infra.redis.del(redisKeys(infra.prefix).clickCap(key))
    expect(await c.next(key)).toBe(42) // the clicks since the seed were not folded yet: the stated lag
    await c.forget(key)
    expect(await c.peek(key)).toBe(42)
  })

  it('stops counting at the cap, so that a cap raised later lets exactly the difference through', async () => {
    const key = `k${++links}`
    const { cap: c } = cap()
    const numbers = await Promise.all(Array.from({ length: 12 }, () => c.next(key, 5)))
    expect(numbers.toSorted((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6])
    expect(await c.peek(key)).toBe(6)
    expect([await c.next(key, 7), await c.next(key, 7), await c.next(key, 7)]).toEqual([6, 7, 8])
  })

  it('seeds once when replicas find the counter missing together', async () => {
    const key = `k${++links}`
    const replicas = Array.from({ length: 8 }, () => cap({ [key]: 10 }).cap)
    const numbers = await Promise.all(replicas.map((r) => r.next(key)))
    expect(numbers.toSorted((x, y) => x - y)).toEqual([11, 12, 13, 14, 15, 16, 17, 18])
  })
})
