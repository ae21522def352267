import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batchesOf, createCoalescedWrites, PARTITION_ROWS_MAX, PARTITIONS_MAX } from '../src/coalesced-writes.ts'

// The list index's writes of concurrent creates, grouped by partition: how they are cut into
// batches (pure), and on the real Cassandra that every caller's rows land, and that a batch that
// fails fails the callers with a row in it.

const row = (partition: string, n: number) => ({ partition, query: 'q', params: [n] })

describe('batchesOf', () => {
  it('puts the rows of one partition together, and single rows ten partitions to a batch', () => {
    const writes = [
      ...Array.from({ length: PARTITION_ROWS_MAX + 5 }, (_, i) => row('owner', i)),
      ...Array.from({ length: PARTITIONS_MAX + 3 }, (_, i) => row(`token-${i}`, i)),
      row('tag', 1), row('tag', 2)
    ]
    const batches = batchesOf(writes)
    expect(batches.map((b) => b.length)).toEqual([PARTITION_ROWS_MAX, 5, PARTITIONS_MAX, 2, 3])
    expect(new Set(batches[2]!.map((w) => w.partition)).size).toBe(PARTITIONS_MAX)
    expect(batches[3]!.map((w) => w.partition)).toEqual(['tag', 'tag'])
    expect(batches.flat()).toHaveLength(writes.length)
  })
})

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('coalesced')
})

afterAll(async () => {
  await infra?.close()
})

describe('coalesced writes on Cassandra', () => {
  const insert = 'INSERT INTO link_owner_domains (owner, domain) VALUES (?, ?)'

  it('writes every row of 300 concurrent callers, shared partitions and single ones', async () => {
    const writes = createCoalescedWrites(infra.cassandra)
    await Promise.all(Array.from({ length: 300 }, (_, i) => writes.write([
      { partition: 'shared', query: insert, params: ['co-shared', `d${i}.test`] },
      { partition: `own-${i}`, query: insert, params: [`co-own-${i}`, 'x.test'] }
    ])))
    const shared = await infra.cassandra.execute('SELECT domain FROM link_owner_domains WHERE owner = ?', ['co-shared'], { prepare: true })
    expect(shared.rowLength).toBe(300)
    for (const i of [0, 149, 299]) {
      const own = await infra.cassandra.execute('SELECT domain FROM link_owner_domains WHERE owner = ?', [`co-own-${i}`], { prepare: true })
      expect(own.rows.map((r) => r['domain'])).toEqual(['x.test'])
    }
  })

  it('fails the callers whose rows were in a failed batch, and writes the others', async () => {
    const writes = createCoalescedWrites(infra.cassandra)
    const bad = { partition: 'co-bad', query: 'INSERT INTO no_such_table (owner) VALUES (?)', params: ['x'] }
    const results = await Promise.allSettled([
      writes.write([bad]),
      writes.write([{ partition: 'co-good', query: insert, params: ['co-good', 'ok.test'] }, { partition: 'co-good', query: insert, params: ['co-good', 'ok2.test'] }])
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled'])
    const good = await infra.cassandra.execute('SELECT domain FROM link_owner_domains WHERE owner = ?', ['co-good'], { prepare: true })
    expect(good.rowLength).toBe(2)
  })
})
