import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyGenerator } from '../src/keys.ts'
import { createLinkRepository, type Link } from '../src/link-repository.ts'
import { spyOnStatements, type SentStatement } from '@shortwave/testing/cassandra-spy'
import { createTestInfra, skewedClient, type TestInfra } from '@shortwave/testing/infra'
import { loseAnswers } from '@shortwave/testing/lost-answers'

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
    expect(await repo.leaseChunk(['rep0001', 'rep0002'], 'lease-1')).toEqual(['rep0001', 'rep0002'])
    await repo.indexOwned(owned)
    await repo.activateLeased(owned)
    await repo.activateLeased(anonymous)
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
    expect(await repo.applyEdit({ key: 'rep0001', version: 0 }, { title: 'Edited' }, createdAt)).toBe(true)
    await repo.recordEdit('rep0001', { version: 1, editedAt: createdAt, editor: 'ak_1', before: { title: null }, after: { title: 'Edited' } })
    expect(await repo.edits('rep0001', null, 10)).toHaveLength(1)
    expect(await repo.edits('rep0001', 1, 10)).toEqual([])
    await repo.markDeleted(owned)
    await repo.markDeleted(anonymous)
    expect(await repo.find('rep0001')).toBeNull()

    const mayRepeat = (s: SentStatement) => !/ IF NOT EXISTS| IF \w+ =/.test(s.cql) && !/ = \w+ \+ \?/.test(s.cql)
    expect(sent.filter((s) => !mayRepeat(s)).map((s) => s.cql.split(' ')[0])).toEqual(['INSERT', 'UPDATE', 'INSERT', 'UPDATE', 'UPDATE', 'UPDATE'])
    expect(sent.filter((s) => mayRepeat(s) !== (s.options.isIdempotent === true)).map((s) => s.cql)).toEqual([])
  })
})

const HOUR = 3_600_000
const linkOn = (key: string, url = `https://example.com/${key}`): Link => ({ key, url, createdAt: new Date(), expiresAt: null, owner: null })

describe('key leases', () => {
  it('leases only keys that are still pooled, each to one holder', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const chunk = createKeyGenerator(7).batch(20)
    expect((await repo.claimBatch(chunk, 'w1')).claimed).toHaveLength(20)
    // One key of the chunk already became a link: a replayed chunk carries it again.
    expect(await repo.leaseChunk([chunk[0]!], 'first')).toEqual([chunk[0]])
    await repo.activateLeased(linkOn(chunk[0]!))

    const leased = await repo.leaseChunk(chunk, 'second')
    expect(leased).toEqual(chunk.slice(1))
    expect(await repo.leaseChunk(chunk, 'third')).toEqual([])
    expect(await repo.find(chunk[0]!)).toMatchObject({ url: `https://example.com/${chunk[0]}` })
  })

  it('never leases a key that was not claimed first', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const [key] = createKeyGenerator(7).batch(1)
    expect(await repo.leaseChunk([key!], 'holder')).toEqual([])
    expect(await repo.insertIfAbsent(linkOn(key!), 'create')).toBe(true)
  })

  it('reads back which keys a lease won when its answer is lost', async () => {
    const chunk = createKeyGenerator(7).batch(10)
    await createLinkRepository(infra.cassandra).claimBatch(chunk, 'w1')
    const applied = loseAnswers(infra.cassandra, (cql) => cql.includes("state = 'leased'"), 'after')
    expect((await createLinkRepository(applied.client).leaseChunk(chunk, 'lost-after')).sort()).toEqual([...chunk].sort())
    expect(applied.lost).toHaveLength(1)

    const other = createKeyGenerator(7).batch(10)
    await createLinkRepository(infra.cassandra).claimBatch(other, 'w1')
    const dropped = loseAnswers(infra.cassandra, (cql) => cql.includes("state = 'leased'"), 'before')
    expect(await createLinkRepository(dropped.client).leaseChunk(other, 'lost-before')).toEqual([])
    // Nothing was leased, so the keys are still there for a lease that gets its answer.
    expect(await createLinkRepository(infra.cassandra).leaseChunk(other, 'retry')).toEqual(other)
  })

  it('reads back whether an insert applied when its answer is lost', async () => {
    const ifNotExists = (cql: string) => cql.includes('IF NOT EXISTS')
    const landed = linkOn('lost-alias-landed')
    expect(await createLinkRepository(loseAnswers(infra.cassandra, ifNotExists, 'after').client).insertIfAbsent(landed, 'create')).toBe(true)
    expect(await createLinkRepository(infra.cassandra).find(landed.key)).toMatchObject({ url: landed.url })

    const taken = { ...linkOn('lost-alias-landed'), url: 'https://example.com/someone-else' }
    expect(await createLinkRepository(loseAnswers(infra.cassandra, ifNotExists, 'after').client).insertIfAbsent(taken, 'create')).toBe(false)

    const never = linkOn('lost-alias-never')
    await expect(createLinkRepository(loseAnswers(infra.cassandra, ifNotExists, 'before').client).insertIfAbsent(never, 'create'))
      .rejects.toMatchObject({ code: 0x1100 })
    expect(await createLinkRepository(infra.cassandra).find(never.key)).toBeNull()
  })
})

describe('edits', () => {
  it('reads back whether an edit applied when its answer is lost', async () => {
    const conditional = (cql: string) => cql.includes('IF version = ?')
    const repo = createLinkRepository(infra.cassandra)
    const link = linkOn('lost-edit')
    expect(await repo.insertIfAbsent(link, 'create')).toBe(true)

    const lost = (mode: 'after' | 'before') => createLinkRepository(loseAnswers(infra.cassandra, conditional, mode).client)
    expect(await lost('after').applyEdit({ key: link.key, version: 0 }, { url: 'https://example.com/edited' }, new Date())).toBe(true)
    expect(await repo.find(link.key)).toMatchObject({ url: 'https://example.com/edited', version: 1 })
    // Another edit took version 1 already: this one, made on version 0, did not apply.
    expect(await lost('after').applyEdit({ key: link.key, version: 0 }, { url: 'https://example.com/late' }, new Date())).toBe(false)
    await expect(lost('before').applyEdit({ key: link.key, version: 1 }, { title: 'never' }, new Date()))
      .rejects.toMatchObject({ code: 0x1100 })
    expect(await repo.find(link.key)).toMatchObject({ url: 'https://example.com/edited', title: null, version: 1 })
  })

  it('deletes on If-Match only at the version named, and reads back whether it did when the answer is lost', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const link = linkOn('delete-if')
    expect(await repo.insertIfAbsent(link, 'create')).toBe(true)
    expect(await repo.applyEdit({ key: link.key, version: 0 }, { title: 'Edited' }, new Date())).toBe(true)
    expect(await repo.markDeletedIf({ key: link.key, version: 0 }, new Date())).toBe(false)
    expect(await repo.find(link.key)).toMatchObject({ title: 'Edited' })
    const conditional = (cql: string) => cql.includes('IF version = ?')
    const lost = createLinkRepository(loseAnswers(infra.cassandra, conditional, 'after').client)
    expect(await lost.markDeletedIf({ key: link.key, version: 1 }, new Date())).toBe(true)
    expect(await repo.find(link.key)).toBeNull()
  })

  it('changes only the fields given, and removes an expiry, a title or the tags given as null or empty', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const link = { ...linkOn('edit-fields'), expiresAt: new Date(Date.now() + HOUR), title: 'Title', tags: ['a', 'b'] }
    expect(await repo.insertIfAbsent(link, 'create')).toBe(true)
    expect(await repo.find(link.key)).toMatchObject({ title: 'Title', tags: ['a', 'b'], version: 0, updatedAt: null })
    const at = new Date()
    expect(await repo.applyEdit({ key: link.key, version: 0 }, { tags: ['c'] }, at)).toBe(true)
    expect(await repo.find(link.key))
      .toMatchObject({ url: link.url, expiresAt: link.expiresAt, title: 'Title', tags: ['c'], version: 1, updatedAt: at })
    const cleared = { expiresAt: null, title: null, tags: [] }
    expect(await repo.applyEdit({ key: link.key, version: 1 }, cleared, new Date())).toBe(true)
    expect(await repo.find(link.key))
      .toMatchObject({ url: link.url, expiresAt: null, title: null, tags: [], version: 2 })
  })
})

describe('with a client clock behind or ahead of Cassandra', () => {
  it('serves a link activated by a replica whose clock is an hour behind', async () => {
    const behind = await skewedClient(infra, -HOUR)
    try {
      const chunk = createKeyGenerator(7).batch(5)
      await createLinkRepository(infra.cassandra).claimBatch(chunk, 'w1')
      const repo = createLinkRepository(behind)
      expect(await repo.leaseChunk(chunk, 'behind')).toEqual(chunk)
      for (const key of chunk) await repo.activateLeased(linkOn(key))
      for (const key of chunk) expect(await createLinkRepository(infra.cassandra).find(key), key).toMatchObject({ url: `https://example.com/${key}` })
    } finally {
      await behind.shutdown()
    }
  })

  it('deletes, from a replica whose clock is behind, a link stored by Paxos or a replica ahead', async () => {
    const behind = await skewedClient(infra, -HOUR)
    const ahead = await skewedClient(infra, HOUR)
    try {
      const repo = createLinkRepository(infra.cassandra)
      const alias = linkOn('skewed-alias')
      expect(await repo.insertIfAbsent(alias, 'create')).toBe(true)
      await createLinkRepository(behind).markDeleted(alias)
      expect(await repo.find(alias.key)).toBeNull()

      const [key] = createKeyGenerator(7).batch(1)
      await repo.claimBatch([key!], 'w1')
      await repo.leaseChunk([key!], 'ahead')
      const link = linkOn(key!)
      await createLinkRepository(ahead).activateLeased(link)
      await createLinkRepository(behind).markDeleted(link)
      expect(await repo.find(key!)).toBeNull()
    } finally {
      await behind.shutdown()
      await ahead.shutdown()
    }
  })
})
