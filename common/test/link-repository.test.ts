import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkRepository } from '../src/link-repository.ts'
import { spyOnStatements, type SentStatement } from '../src/testing/cassandra-spy.ts'
import { createTestInfra, type TestInfra } from '../src/testing/infra.ts'

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('cm_repo')
})

afterAll(async () => {
  await infra?.close()
})

describe('the link repository', () => {
  // In a cluster the driver re-sends a statement to another node only when it is marked
  // idempotent; a lightweight transaction or a counter update sent twice could apply twice.
  it('marks every statement idempotent but lightweight transactions and counter updates', async () => {
    const { client, sent } = spyOnStatements(infra.cassandra)
    const repo = createLinkRepository(client)
    const createdAt = new Date()
    const owned = { key: 'rep0001', url: 'https://example.com/a', createdAt, expiresAt: null, owner: 'ak_1' }
    const anonymous = { key: 'rep0002', url: 'https://example.com/b', createdAt, expiresAt: null, owner: null }

    expect(await repo.claimBatch(['rep0001', 'rep0002'], 'w1')).toMatchObject({ claimed: ['rep0001', 'rep0002'] })
    await repo.indexOwned(owned)
    await repo.activatePooled(owned)
    await repo.activatePooled(anonymous)
    expect(await repo.insertIfAbsent({ ...anonymous, key: 'rep-alias' }, 'create')).toBe(true)
    expect(await repo.find('rep0001')).toMatchObject({ url: 'https://example.com/a' })
    expect(await repo.ownedPage('ak_1', null, 10)).toHaveLength(1)
    expect(await repo.ownedPage('ak_1', { createdAt, key: 'rep0001' }, 10)).toEqual([])
    expect(await repo.ownerIndexPage(null, 10)).toEqual({ entries: [{ owner: 'ak_1', createdAt, key: 'rep0001' }], next: null })
    await repo.unindexOwned({ owner: 'ak_1', createdAt, key: 'rep0001' })
    expect(await repo.ownedPage('ak_1', null, 10)).toEqual([])
    await repo.addClicks('rep0001', '2025-01-01', 1, 0)
    await repo.addClicksBatch([{ key: 'rep0001', day: '2025-01-02', clicks: 2, botClicks: 1 }])
    expect(await repo.totalClicks('rep0001')).toBe(3)
    await repo.markDeleted(owned)
    await repo.markDeleted(anonymous)
    expect(await repo.find('rep0001')).toBeNull()

    const mayRepeat = (s: SentStatement) => !/ IF NOT EXISTS| IF \w+ =/.test(s.cql) && !/ = \w+ \+ \?/.test(s.cql)
    expect(sent.filter((s) => !mayRepeat(s)).map((s) => s.cql.split(' ')[0])).toEqual(['INSERT', 'INSERT', 'UPDATE', 'UPDATE'])
    expect(sent.filter((s) => mayRepeat(s) !== (s.options.isIdempotent === true)).map((s) => s.cql)).toEqual([])
  })
})
