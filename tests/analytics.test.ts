import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../create-service/src/api-keys.ts'
import { bundledCountryDatabase, openCountryLookup } from '../redirect-service/src/analytics/country-lookup.ts'
import { createLink, startManagedStack, waitFor, type Stack } from './helpers/stack.ts'

// Where clicks come from, through the real services on a real Redis and Cassandra: two redirect
// replicas (whose visitor salts must agree), a key-worker, create-service's stats API. Each
// visitor's clicks go to both replicas; the addresses come as nginx sends them (X-Forwarded-For
// from a trusted proxy, here the test itself on 127.0.0.1).

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const SLACKBOT = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'

interface Visit {
  address: string
  userAgent: string
  referer?: string
  query?: string
  times: number
}

const VISITS: Visit[] = [
  {
    address: '81.2.69.142',
    userAgent: CHROME_WINDOWS,
    referer: 'https://www.google.com/search?q=shortwave',
    query: 'utm_source=Newsletter&utm_medium=email&utm_campaign=Launch',
    times: 5
  },
  { address: '8.8.8.8', userAgent: SAFARI_IPHONE, referer: 'https://t.co/abc123', times: 4 },
  { address: '193.0.6.139', userAgent: FIREFOX_LINUX, times: 3 },
  // The same address with another browser: another visitor.
  { address: '8.8.8.8', userAgent: CHROME_WINDOWS, referer: 'https://news.ycombinator.com/item?id=1', query: 'utm_source=hn', times: 2 }
]
const PEOPLE = VISITS.reduce((n, v) => n + v.times, 0)

interface Stats {
  clicks: number
  botClicks: number
  uniqueVisitors: number
  rows: Array<{ value: string, clicks: number, uniqueVisitors?: number }>
}

describe('analytics through the whole stack', () => {
  let infra: TestInfra
  let stack: Stack
  let auth: Record<string, string>
  let otherAuth: Record<string, string>
  let key: string
  let second: string
  const today = new Date().toISOString().slice(0, 10)

  beforeAll(async () => {
    infra = await createTestInfra('e2e_analytics')
    ;({ stack, auth } = await startManagedStack(infra, { env: { CLICK_FLUSH_INTERVAL_MS: '200', CLICK_FOLD_INTERVAL_MS: '200' } }))
    otherAuth = { authorization: `Bearer ${(await createApiKeyRepository(infra.cassandra).create('other', 'user')).secret}` }
    const channel = redisKeys(infra.prefix).visitorSalt
    await waitFor('both replicas to take part in the salt agreement', async () =>
      Number((await infra.redis.pubsub('NUMSUB', channel))[1]) >= 2, 10_000)
    // Offers cross in a round trip or two once both listen.
    await new Promise((resolve) => setTimeout(resolve, 500))
    key = (await createLink(stack.createUrl, { url: 'https://example.com/analytics' }, auth)).body['key'] as string
    second = (await createLink(stack.createUrl, { url: 'https://example.com/analytics-2' }, auth)).body['key'] as string

    let n = 0
    for (const visit of VISITS) {
      for (let i = 0; i < visit.times; i++) {
        expect(await follow(stack.redirectUrls[n++ % 2]!, key, visit)).toBe(302)
      }
    }
    for (let i = 0; i < 2; i++) expect(await follow(stack.redirectUrl, key, { ...VISITS[0]!, method: 'HEAD' })).toBe(302)
    for (let i = 0; i < 3; i++) expect(await follow(stack.redirectUrl, key, { address: '8.8.4.4', userAgent: SLACKBOT })).toBe(302)
    for (let i = 0; i < 2; i++) expect(await follow(stack.redirectUrls[1]!, second, VISITS[1]!)).toBe(302)
    await waitFor('every dimension to be folded', async () => {
      const [a, b] = await Promise.all([statsOf(key, 'referrer'), statsOf(second, 'referrer')])
      // The owner's rows are written after each link's: wait for them too.
      const owner = await get('/api/v1/stats?by=link', auth)
      return a.clicks === PEOPLE && b.clicks === 2 && owner.body.clicks === PEOPLE + 2
    }, 15_000)
  }, 60_000)

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  /** A Redis key's value, whatever its type (a HyperLogLog is a string). */
  async function valueOf (k: string): Promise<unknown> {
    switch (await infra.redis.type(k)) {
      case 'hash': return await infra.redis.hgetall(k)
      case 'set': return await infra.redis.smembers(k)
      case 'zset': return await infra.redis.zrange(k, '0', '-1')
      case 'list': return await infra.redis.lrange(k, 0, -1)
      default: return (await infra.redis.getBuffer(k))?.toString('latin1')
    }
  }

  async function follow (base: string, k: string, visit: Partial<Visit> & { method?: string }): Promise<number> {
    const headers: Record<string, string> = { 'x-forwarded-for': visit.address!, 'user-agent': visit.userAgent! }
    if (visit.referer) headers['referer'] = visit.referer
    const url = `${base}/${k}${visit.query ? `?${visit.query}` : ''}`
    const response = await fetch(url, { method: visit.method ?? 'GET', redirect: 'manual', headers })
    await response.arrayBuffer()
    return response.status
  }

  async function get (path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
    const response = await fetch(`${stack.createUrl}${path}`, { headers })
    return { status: response.status, body: await response.json() }
  }

  async function statsOf (k: string, by: string): Promise<Stats> {
    const { status, body } = await get(`/api/v1/links/${k}/stats?by=${by}`)
    expect(status).toBe(200)
    return body
  }

  const expectedBy = (value: (v: Visit) => string): Record<string, number> => {
    const counts: Record<string, number> = {}
    for (const v of VISITS) counts[value(v)] = (counts[value(v)] ?? 0) + v.times
    return counts
  }
  const asRecord = (s: Stats): Record<string, number> => Object.fromEntries(s.rows.map((r) => [r.value, r.clicks]))

  it('counts each GET of a person once under every dimension; the rows add up to clicks', async () => {
    const countries = await openCountryLookup(bundledCountryDatabase())
    const expected: Record<string, Record<string, number>> = {
      referrer: expectedBy((v) => v.referer === undefined ? 'direct' : new URL(v.referer).hostname.replace(/^www\./, '')),
      country: expectedBy((v) => countries.country(v.address)),
      device: expectedBy((v) => v.userAgent === SAFARI_IPHONE ? 'mobile' : 'desktop'),
      browser: expectedBy((v) => v.userAgent === SAFARI_IPHONE ? 'safari' : v.userAgent === FIREFOX_LINUX ? 'firefox' : 'chrome'),
      os: expectedBy((v) => v.userAgent === SAFARI_IPHONE ? 'ios' : v.userAgent === FIREFOX_LINUX ? 'linux' : 'windows'),
      utm_source: expectedBy((v) => new URLSearchParams(v.query ?? '').get('utm_source')?.toLowerCase() ?? 'none'),
      utm_medium: expectedBy((v) => new URLSearchParams(v.query ?? '').get('utm_medium')?.toLowerCase() ?? 'none'),
      utm_campaign: expectedBy((v) => new URLSearchParams(v.query ?? '').get('utm_campaign')?.toLowerCase() ?? 'none')
    }
    countries.close()
    // The database knows these addresses: a country, not "unknown", for each.
    expect(Object.keys(expected['country']!)).not.toContain('unknown')
    for (const [by, counts] of Object.entries(expected)) {
      const stats = await statsOf(key, by)
      expect({ by, rows: asRecord(stats) }).toEqual({ by, rows: counts })
      expect(stats).toMatchObject({ clicks: PEOPLE, botClicks: 3 })
    }
    const byDay = await statsOf(key, 'day')
    expect(byDay).toMatchObject({
      clicks: PEOPLE, botClicks: 3, rows: [{ value: today, clicks: PEOPLE, uniqueVisitors: 4 }]
    })
  })

  it('counts unique visitors across replicas: the same address and browser on both is one visitor', async () => {
    // Four (address, user agent) pairs, each of whose clicks alternated between the two replicas.
    expect((await statsOf(key, 'country')).uniqueVisitors).toBe(4)
    expect((await statsOf(second, 'day')).uniqueVisitors).toBe(1)
  })

  it('adds up the caller\'s links in GET /api/v1/stats, per link, per day and per dimension', async () => {
    const byLink = await get('/api/v1/stats?by=link', auth)
    expect(byLink.status).toBe(200)
    expect(asRecord(byLink.body)).toEqual({ [key]: PEOPLE, [second]: 2 })
    expect(byLink.body).toMatchObject({ clicks: PEOPLE + 2, botClicks: 3 })
    const byDay = await get('/api/v1/stats', auth)
    expect(byDay.body).toMatchObject({ by: 'day', clicks: PEOPLE + 2, rows: [{ value: today, clicks: PEOPLE + 2 }] })
    // One of the second link's visitors is one of the first's: four distinct in all.
    expect(byDay.body.uniqueVisitors).toBe(4)
    const byBrowser = await get('/api/v1/stats?by=browser', auth)
    expect(asRecord(byBrowser.body)).toEqual({ chrome: 7, safari: 6, firefox: 3 })
    // Another key's owner has no clicks.
    expect((await get('/api/v1/stats?by=link', otherAuth)).body).toMatchObject({ clicks: 0, rows: [] })
  })

  it('stores no address and no user agent it saw, in Redis or Cassandra', async () => {
    const secrets = [...new Set([...VISITS.map((v) => v.address), '8.8.4.4', CHROME_WINDOWS, SAFARI_IPHONE, FIREFOX_LINUX, SLACKBOT])]
    // Every key of this test's prefix, with its value whatever its type.
    const redisText: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await infra.redis.scan(cursor, 'MATCH', `${infra.prefix}*`, 'COUNT', 1000)
      cursor = next
      for (const k of found) {
        const value = await valueOf(k)
        redisText.push(k, JSON.stringify(value))
      }
    } while (cursor !== '0')
    // The HyperLogLogs are there (and hold only salted hashes, which cannot be listed back).
    expect(redisText.some((text) => text.includes(':uv:'))).toBe(true)
    // Every row of every table of this test's keyspace.
    const tables = await infra.cassandra.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [infra.keyspace])
    const cassandraText: string[] = []
    for (const { table_name: table } of tables.rows) {
      const rows = await infra.cassandra.execute(`SELECT * FROM ${infra.keyspace}.${table as string}`, [], { fetchSize: 1000 })
      for await (const row of rows) {
        cassandraText.push(JSON.stringify(Object.values(row).map(String)))
      }
    }
    expect(cassandraText.join('\n')).toContain('google.com')
    for (const secret of secrets) {
      expect({ secret, inRedis: redisText.some((t) => t.includes(secret)) }).toEqual({ secret, inRedis: false })
      const inCassandra = cassandraText.some((t) => t.includes(secret))
      expect({ secret, inCassandra }).toEqual({ secret, inCassandra: false })
    }
  })

  it('answers bad queries with a clear 400 or 401, and changes nothing', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      [`/api/v1/links/${key}/stats?by=planet`, {}, 400, 'by'],
      [`/api/v1/links/${key}/stats?from=2026-13-01`, {}, 400, 'from'],
      [`/api/v1/links/${key}/stats?from=2026-02-31`, {}, 400, '2026-02-31'],
      [`/api/v1/links/${key}/stats?from=2026-12-02&to=2026-12-01`, {}, 400, 'after'],
      [`/api/v1/links/${key}/stats?by=country&from=2020-01-01&to=2026-01-01`, {}, 400, 'at most'],
      [`/api/v1/links/${key}/stats?by=link`, {}, 400, 'by must be one of'],
      [`/api/v1/links/${key}/stats?limit=0`, {}, 400, 'limit'],
      ['/api/v1/stats', {}, 401, 'API key']
    ]
    for (const [path, headers, status, mention] of cases) {
      const { status: got, body } = await get(path, headers)
      expect({ path, got }).toEqual({ path, got: status })
      expect(body.message).toContain(mention)
    }
    expect((await statsOf(key, 'device')).clicks).toBe(PEOPLE)
  })

  it('keeps the `limit` most clicked values of a query string\'s limit=, the rest under "other"', async () => {
    const all = await statsOf(key, 'browser')
    expect(all.rows.length).toBeGreaterThan(1)
    const { status, body } = await get(`/api/v1/links/${key}/stats?by=browser&limit=1`)
    expect(status).toBe(200)
    expect(body.rows).toEqual([all.rows[0], { value: 'other', clicks: all.clicks - all.rows[0]!.clicks }])
  })

  it('purges a link\'s statistics for its owner only, and takes them off the owner\'s totals', async () => {
    const purge = (headers: Record<string, string>) => fetch(`${stack.createUrl}/api/v1/links/${key}/stats`, { method: 'DELETE', headers })
    expect((await purge({})).status).toBe(401)
    expect((await purge(otherAuth)).status).toBe(403)
    // One purge at a time: a second one while the first runs would subtract twice.
    const [first, again] = await Promise.all([purge(auth), purge(auth)])
    expect([first.status, again.status].sort()).toEqual([204, 409])

    for (const by of ['day', 'referrer', 'country']) {
      expect(await statsOf(key, by)).toMatchObject({ clicks: 0, botClicks: 0, uniqueVisitors: 0, rows: [] })
    }
    const byLink = await get('/api/v1/stats?by=link', auth)
    expect(byLink.body).toMatchObject({ clicks: 2, botClicks: 0, rows: [{ value: second, clicks: 2 }] })
    expect(asRecord((await get('/api/v1/stats?by=browser', auth)).body)).toEqual({ safari: 2 })
    // The link itself stays and keeps counting.
    expect(await follow(stack.redirectUrl, key, VISITS[2]!)).toBe(302)
    await waitFor('the new click', async () => (await statsOf(key, 'os')).clicks === 1, 10_000)
  })
})
