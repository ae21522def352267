import { createLinkIndex } from '@shortwave/common/link-index'
import { createLinkRepository, type Link } from '@shortwave/common/link-repository'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkLister, type ListRequest } from '../src/link-list.ts'

// A listing without domain= merges the partitions of every domain the owner has links on, on the
// real Cassandra. The hard case is a tie: the same key created in the same millisecond on three
// domains (an import can do that). Paged one link at a time, each must come exactly once, in the
// order value, key, domain, both ways; with domain= only that domain's link comes.

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('cs_listdom')
})

afterAll(async () => {
  await infra?.close()
})

describe('listing every domain', () => {
  it('pages through links equal in time and key on three domains, each once, in order both ways', async () => {
    const repo = createLinkRepository(infra.cassandra)
    const index = createLinkIndex(infra.cassandra)
    const lister = createLinkLister({ repo, index })
    const owner = 'ak_listdom'
    const tie = new Date('2026-03-01T10:00:00.000Z')
    const links: Link[] = [
      { key: 'same-key', url: 'https://example.com/default', createdAt: tie, expiresAt: null, owner, tags: [] },
      { key: 'same-key', domain: 'a.list.test', url: 'https://example.com/a', createdAt: tie, expiresAt: null, owner, tags: [] },
      { key: 'same-key', domain: 'b.list.test', url: 'https://example.com/b', createdAt: tie, expiresAt: null, owner, tags: [] },
      { key: 'older', domain: 'b.list.test', url: 'https://example.com/older', createdAt: new Date(tie.getTime() - 1000), expiresAt: null, owner, tags: [] },
      { key: 'zz-newer', url: 'https://example.com/newer', createdAt: new Date(tie.getTime() + 1000), expiresAt: null, owner, tags: [] }
    ]
    for (const link of links) {
      await index.list(link)
      expect(await repo.insertIfAbsent(link, 'test')).toBe(true)
    }
    expect((await index.ownerDomains(owner)).sort()).toEqual(['a.list.test', 'b.list.test'])

    const pageByPage = async (request: Omit<ListRequest, 'limit' | 'cursor'>): Promise<string[]> => {
      const seen: string[] = []
      let cursor: string | undefined
      for (let page = 0; page < 10; page++) {
        const result = await lister.list({ ...request, limit: 1, ...(cursor === undefined ? {} : { cursor }) })
        seen.push(...result.links.map((l) => `${l.domain ?? ''}/${l.key}`))
        if (result.nextCursor === null) return seen
        cursor = result.nextCursor
      }
      throw new Error(`no last page after 10 pages: ${seen.join(', ')}`)
    }
    const newestFirst = ['/zz-newer', 'b.list.test/same-key', 'a.list.test/same-key', '/same-key', 'b.list.test/older']
    expect(await pageByPage({ owner })).toEqual(newestFirst)
    expect(await pageByPage({ owner, order: 'asc' })).toEqual([...newestFirst].reverse())
    // No clicks yet: by key, then domain.
    expect(await pageByPage({ owner, sort: 'clicks' })).toEqual(['/zz-newer', 'b.list.test/same-key', 'a.list.test/same-key', '/same-key', 'b.list.test/older'])
    expect(await pageByPage({ owner, domain: 'b.list.test' })).toEqual(['b.list.test/same-key', 'b.list.test/older'])
    expect(await pageByPage({ owner, domain: '' })).toEqual(['/zz-newer', '/same-key'])
  })
})
