import { createLinkIndex } from '@shortwave/common/link-index'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository, hashSecret } from '../create-service/src/api-keys.ts'
import { createLink, inParallel, redirectOf, startStack, waitFor, type Stack } from './helpers/stack.ts'

// GET /api/v1/links with tag, q, sort, order, domain, expired and the cursor, on the three real
// services (the key-worker's fold ranks clicks) against the real Cassandra and Redis.

interface Listed {
  key: string
  url: string
  title: string | null
  tags: string[]
  createdAt: string
  domain: string
  expired: boolean
  clicks?: number
}
interface Page { links: Listed[], nextCursor: string | null }

let infra: TestInfra
let stack: Stack

beforeAll(async () => {
  infra = await createTestInfra('e2e_list')
  stack = await startStack(infra, { env: { CLICK_FLUSH_INTERVAL_MS: '100', CLICK_FOLD_INTERVAL_MS: '200' } })
})

afterAll(async () => {
  await stack?.close()
  await infra?.close()
})

async function newCaller (name: string, role: 'user' | 'admin' = 'user'): Promise<Record<string, string>> {
  const { secret } = await createApiKeyRepository(infra.cassandra).create(name, role)
  return { authorization: `Bearer ${secret}` }
}

async function created (auth: Record<string, string>, body: object): Promise<Listed> {
  const response = await createLink(stack.createUrl, body, auth)
  expect(response.status, JSON.stringify(response.body)).toBe(201)
  return response.body as unknown as Listed
}

async function list (auth: Record<string, string>, query = ''): Promise<{ status: number, body: Page & { message?: string } }> {
  const response = await fetch(`${stack.createUrl}/api/v1/links${query}`, { headers: auth })
  return { status: response.status, body: await response.json() as Page & { message?: string } }
}

/** Every key a listing gives, page by page (limit per page). */
async function allKeys (auth: Record<string, string>, query: string, limit = 2): Promise<string[]> {
  const keys: string[] = []
  let cursor: string | null = null
  do {
    const sep = query === '' ? '?' : '&'
    const { status, body } = await list(auth, `${query}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`)
    expect(status, JSON.stringify(body)).toBe(200)
    keys.push(...body.links.map((l) => l.key))
    cursor = body.nextCursor
  } while (cursor !== null)
  return keys
}

async function patch (auth: Record<string, string>, key: string, body: object): Promise<number> {
  const response = await fetch(`${stack.createUrl}/api/v1/links/${key}`, {
    method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  await response.arrayBuffer()
  return response.status
}

async function remove (auth: Record<string, string>, key: string): Promise<number> {
  const response = await fetch(`${stack.createUrl}/api/v1/links/${key}`, { method: 'DELETE', headers: auth })
  await response.arrayBuffer()
  return response.status
}

describe('sort=created, both orders', () => {
  it('lists newest first by default and oldest first with order=asc, a page at a time', async () => {
    const auth = await newCaller('order')
    const keys: string[] = []
    for (let i = 0; i < 5; i++) keys.push((await created(auth, { url: `https://example.com/order/${i}` })).key)
    expect(await allKeys(auth, '')).toEqual([...keys].reverse())
    expect(await allKeys(auth, '?sort=created&order=desc')).toEqual([...keys].reverse())
    expect(await allKeys(auth, '?order=asc')).toEqual(keys)
    const first = (await list(auth)).body.links[0]!
    expect(first).toMatchObject({ key: keys[4], domain: 'sw.test', expired: false })
    // Every listing shows each link's clicks as of the last fold: none yet.
    expect(first).toMatchObject({ clicks: 0 })
  })

  it('keeps paging stable while links are created and deleted: every link there throughout is seen once, in order', async () => {
    const auth = await newCaller('stable')
    let before: string[] = []
    for (const i of Array.from({ length: 12 }, (_, n) => n)) before.push((await created(auth, { url: `https://example.com/s/${i}` })).key)
    for (const order of ['desc', 'asc']) {
      const seen: string[] = []
      let cursor: string | null = null
      let n = 0
      let deletedUnseen = ''
      do {
        // Creates land between every two pages, and alongside the page read itself.
        const [page]: [{ status: number, body: Page }, Listed] = await Promise.all([
          list(auth, `?order=${order}&limit=3${cursor === null ? '' : `&cursor=${cursor}`}`),
          created(auth, { url: `https://example.com/s/new-${order}-${n++}` })
        ])
        expect(page.status).toBe(200)
        seen.push(...page.body.links.map((l) => l.key))
        cursor = page.body.nextCursor
        if (n === 1) {
          // After the first page: one link not seen yet goes, and one seen already.
          const unseen = before.filter((k) => !seen.includes(k))
          deletedUnseen = unseen[Math.floor(unseen.length / 2)]!
          const gone = [deletedUnseen, seen[0]!]
          for (const key of gone) expect(await remove(auth, key)).toBe(204)
          before = before.filter((k) => !gone.includes(k))
        }
      } while (cursor !== null)
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.filter((k) => before.includes(k))).toEqual(order === 'desc' ? [...before].reverse() : before)
      expect(seen).not.toContain(deletedUnseen)
    }
  })
})

describe('tag', () => {
  it('lists the links with the tag, in either order, and follows edits of the tags', async () => {
    const auth = await newCaller('tags')
    const a = await created(auth, { url: 'https://example.com/a', tags: ['spring', 'news'] })
    await created(auth, { url: 'https://example.com/b', tags: ['news'] })
    const c = await created(auth, { url: 'https://example.com/c', tags: ['spring'] })
    expect(await allKeys(auth, '?tag=spring')).toEqual([c.key, a.key])
    expect(await allKeys(auth, '?tag=spring&order=asc')).toEqual([a.key, c.key])
    expect(await allKeys(auth, '?tag=autumn')).toEqual([])
    // A tag is matched exactly, as stored (tags are case-sensitive).
    expect(await allKeys(auth, '?tag=Spring')).toEqual([])

    expect(await patch(auth, a.key, { tags: ['autumn'] })).toBe(200)
    expect(await allKeys(auth, '?tag=spring')).toEqual([c.key])
    expect(await allKeys(auth, '?tag=autumn')).toEqual([a.key])
    expect(await infra.cassandra.execute('SELECT key FROM link_list_by_tag WHERE owner = ? AND domain = ? AND tag = ?',
      [await ownerId(auth), '', 'spring'], { prepare: true }).then((r) => r.rows.map((row) => row['key']))).toEqual([c.key])
  })
})

async function ownerId (auth: Record<string, string>): Promise<string> {
  const hash = hashSecret(auth['authorization']!.slice('Bearer '.length))
  return (await createApiKeyRepository(infra.cassandra).findByHash(hash))!.id
}

describe('q', () => {
  it('matches words of the URL host and path, the title and the key, by their beginning, case-insensitively', async () => {
    const auth = await newCaller('search')
    const sale = await created(auth, { url: 'https://shop.example.com/Spring-Sale/shoes', title: 'Big discounts', alias: 'promo-2027' })
    const blog = await created(auth, { url: 'https://blog.example.org/posts/spring', title: 'Gardening notes' })
    const other = await created(auth, { url: 'https://example.net/unrelated?q=spring' })
    const sorted = (keys: string[]) => [...keys].sort()
    expect(sorted(await allKeys(auth, '?q=spring'))).toEqual(sorted([sale.key, blog.key]))
    expect(await allKeys(auth, '?q=SPR')).toEqual([blog.key, sale.key])
    expect(await allKeys(auth, '?q=spring%20shoes')).toEqual([sale.key])
    expect(await allKeys(auth, '?q=discount')).toEqual([sale.key])
    expect(await allKeys(auth, '?q=promo-2027')).toEqual([sale.key])
    expect(await allKeys(auth, '?q=garden&order=asc')).toEqual([blog.key])
    expect(await allKeys(auth, `?q=${other.key}`)).toEqual([other.key])
    // A pasted URL: http, https and www are not words to look up.
    expect(await allKeys(auth, `?q=${encodeURIComponent('https://www.blog.example.org/posts')}`)).toEqual([blog.key])
    // Words are matched from their start, not inside: "ring" is in "spring" but begins no word.
    expect(await allKeys(auth, '?q=ring')).toEqual([])
    expect(await allKeys(auth, '?q=spring&tag=none')).toEqual([])

    expect(await patch(auth, blog.key, { title: 'Cooking notes', url: 'https://blog.example.org/posts/autumn' })).toBe(200)
    expect(await allKeys(auth, '?q=garden')).toEqual([])
    expect(await allKeys(auth, '?q=spring')).toEqual([sale.key])
    expect(await allKeys(auth, '?q=cook')).toEqual([blog.key])
  })

  it('lists another owner\'s links never, admin keys included (an admin lists its own)', async () => {
    const alice = await newCaller('alice-q')
    const admin = await newCaller('admin-q', 'admin')
    const mine = await created(alice, { url: 'https://example.com/private-words' })
    expect(await allKeys(alice, '?q=private')).toEqual([mine.key])
    expect(await allKeys(admin, '?q=private')).toEqual([])
    expect(await allKeys(admin, '')).toEqual([])
  })
})

describe('sort=clicks', () => {
  it('orders by the clicks the key-worker folded, both ways, with the clicks shown', async () => {
    const auth = await newCaller('clicks')
    const links: Listed[] = []
    for (let i = 0; i < 4; i++) links.push(await created(auth, { url: `https://example.com/clicked/${i}`, tags: i % 2 ? ['odd'] : [] }))
    const clicks = [3, 0, 5, 1]
    await inParallel(links.flatMap((l, i) => Array.from({ length: clicks[i]! }, () => l.key)), 4, async (key) => {
      expect((await redirectOf(stack.redirectUrl, key)).status).toBe(302)
    })
    const expected = [links[2]!.key, links[0]!.key, links[3]!.key, links[1]!.key]
    // The clicks too: before the fold all four tie at 0, and a tie may happen to list them in this order.
    await waitFor('the fold to rank the clicks', async () => {
      const { body } = await list(auth, '?sort=clicks')
      const shown = body.links.map((l) => [l.key, l.clicks])
      return JSON.stringify(shown) === JSON.stringify(expected.map((k, i) => [k, [5, 3, 1, 0][i]]))
    }, 15_000)
    expect((await list(auth, '?sort=clicks')).body.links.map((l) => l.clicks)).toEqual([5, 3, 1, 0])
    // A listing by creation time shows the same counts (newest first: the reverse of creation).
    expect((await list(auth)).body.links.map((l) => l.clicks)).toEqual([...clicks].reverse())
    expect(await allKeys(auth, '?sort=clicks', 1)).toEqual(expected)
    expect(await allKeys(auth, '?sort=clicks&order=asc', 3)).toEqual([...expected].reverse())
    expect(await allKeys(auth, '?sort=clicks&tag=odd')).toEqual([links[3]!.key, links[1]!.key])
    expect(await allKeys(auth, '?sort=clicks&q=clicked')).toEqual(expected)

    // More clicks move the link up, and its old entry goes.
    await inParallel(Array.from({ length: 6 }, () => links[1]!.key), 3, async (key) => {
      expect((await redirectOf(stack.redirectUrl, key)).status).toBe(302)
    })
    await waitFor('the fold to move the link', async () => (await list(auth, '?sort=clicks&limit=1')).body.links[0]?.key === links[1]!.key, 15_000)
    expect(await allKeys(auth, '?sort=clicks')).toEqual([links[1]!.key, ...expected.slice(0, 3)])
    const rows = await infra.cassandra.execute('SELECT clicks FROM link_list_by_clicks WHERE owner = ? AND domain = ?',
      [await ownerId(auth), ''], { prepare: true })
    expect(rows.rows.map((r) => Number(r['clicks']))).toEqual([6, 5, 3, 1])
  })
})

describe('deleted and expired links', () => {
  it('never lists a deleted link, and drops its entries from every index', async () => {
    const auth = await newCaller('deleted')
    const doomed = await created(auth, { url: 'https://example.com/doomed-page', tags: ['gone'] })
    const kept = await created(auth, { url: 'https://example.com/kept-page', tags: ['gone'] })
    expect(await remove(auth, doomed.key)).toBe(204)
    for (const query of ['', '?tag=gone', '?q=doomed', '?sort=clicks', '?order=asc', '?expired=include']) {
      expect((await allKeys(auth, query)).includes(doomed.key), query).toBe(false)
    }
    expect(await allKeys(auth, '?tag=gone')).toEqual([kept.key])
    const owner = await ownerId(auth)
    const left = await infra.cassandra.execute('SELECT key FROM link_list_by_token WHERE owner = ? AND domain = ? AND prefix = ?',
      [owner, '', 'doomed'], { prepare: true })
    expect(left.rows).toEqual([])
  })

  it('leaves expired links out unless expired=include, which lists them marked expired', async () => {
    const auth = await newCaller('expired')
    const soon = await created(auth, { url: 'https://example.com/fleeting', ttlSeconds: 1 })
    const lasting = await created(auth, { url: 'https://example.com/lasting' })
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect(await allKeys(auth, '')).toEqual([lasting.key])
    const all = (await list(auth, '?expired=include')).body.links
    expect(all.map((l) => [l.key, l.expired])).toEqual([[lasting.key, false], [soon.key, true]])
    expect(await allKeys(auth, '?q=fleeting&expired=include')).toEqual([soon.key])
  })

  it('skips an index entry whose link was never stored (a lost alias race) and still fills the page', async () => {
    const auth = await newCaller('stale')
    const a = await created(auth, { url: 'https://example.com/stale/a' })
    const b = await created(auth, { url: 'https://example.com/stale/b' })
    // As a create that lost its alias race leaves them: listed, then the claim failed.
    const index = createLinkIndex(infra.cassandra)
    const owner = await ownerId(auth)
    await index.list({ key: 'lost-race', url: 'https://example.com/stale/lost', createdAt: new Date(), owner })
    await index.list({ key: a.key, url: 'https://example.com/stale/other', createdAt: new Date(), owner })
    expect((await list(auth, '?limit=2')).body.links.map((l) => l.key)).toEqual([b.key, a.key])
    expect(await allKeys(auth, '?q=stale', 1)).toEqual([b.key, a.key])
    // No clicks yet: equal counts go by key, descending.
    expect(await allKeys(auth, '?sort=clicks', 1)).toEqual([a.key, b.key].sort().reverse())
  })
})

describe('bad input', () => {
  it.each([
    ['sort=popular', /sort/],
    ['order=up', /order/],
    ['limit=0', /limit must be at least 1/],
    ['limit=101', /limit/],
    ['tag=no%20spaces', /tag/],
    [`tag=${'t'.repeat(40)}`, /tag/],
    ['q=', /q/],
    [`q=${'w'.repeat(201)}`, /q/],
    ['q=a%20b', /q must hold a word/],
    ['q=go', /q must hold a word of 3/],
    ['expired=maybe', /expired/],
    ['domain=not_a_host', /domain/],
    ['cursor=not-a-cursor', /cursor is not valid/],
    ['unknown=1', /unknown/]
  ])('answers 400 naming the field for %s, and changes nothing', async (query, message) => {
    const auth = await newCaller(`bad-${query.slice(0, 10)}`)
    const link = await created(auth, { url: 'https://example.com/untouched', tags: ['t'] })
    const response = await list(auth, `?${query}`)
    expect(response.status).toBe(400)
    expect(response.body.message).toMatch(message)
    expect(await allKeys(auth, '?tag=t')).toEqual([link.key])
  })

  it('answers 400 to a cursor made for another sort or order', async () => {
    const auth = await newCaller('cursor')
    for (let i = 0; i < 3; i++) await created(auth, { url: `https://example.com/cursor/${i}` })
    const { nextCursor } = (await list(auth, '?limit=1')).body
    expect(nextCursor).not.toBeNull()
    for (const query of ['&order=asc', '&sort=clicks']) {
      const response = await list(auth, `?cursor=${nextCursor}${query}`)
      expect(response.status).toBe(400)
      expect(response.body.message).toMatch(/cursor is not valid for sort=/)
    }
    // A cursor of the listing before sorting existed ({t, k}) still reads as newest first.
    const [, second] = (await list(auth, '?limit=2')).body.links
    const legacy = Buffer.from(JSON.stringify({ t: Date.parse(second!.createdAt), k: second!.key })).toString('base64url')
    expect((await list(auth, `?cursor=${legacy}`)).body.links).toHaveLength(1)
  })

  it('takes the default host as domain, and answers 404 to a domain that is not registered', async () => {
    const auth = await newCaller('domain')
    const link = await created(auth, { url: 'https://example.com/domain' })
    expect(await allKeys(auth, '?domain=sw.test')).toEqual([link.key])
    expect(await allKeys(auth, '?domain=SW.test')).toEqual([link.key])
    const response = await list(auth, '?domain=other.example')
    expect(response.status).toBe(404)
    expect(response.body).toMatchObject({ code: 'SW_DOMAIN_NOT_FOUND' })
  })

  it('answers 401 without an API key', async () => {
    expect((await list({}, '?tag=x')).status).toBe(401)
  })
})
