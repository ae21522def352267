import { loadConfig } from '@shortwave/common/config'
import { clickField, redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildApp } from '../src/app.ts'
import { configSchema } from '../src/config.ts'
import { eventually, metricValue, rawRequest, storeLink, uniqueKey } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let port: number

function config (env: Record<string, string> = {}) {
  return loadConfig(configSchema, {
    ...infra.env,
    // The test flushes clicks itself; a timer would make counts racy.
    CLICK_FLUSH_INTERVAL_MS: '60000',
    LOCAL_NEGATIVE_TTL_MS: '200',
    REDIS_NEGATIVE_TTL_SECONDS: '1',
    ...env
  })
}

const today = (): string => new Date().toISOString().slice(0, 10)

beforeAll(async () => {
  infra = await createTestInfra('rd_redirect')
  app = await buildApp(config(), { cassandra: infra.cassandra, redis: infra.redis, logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

describe('redirects', () => {
  // The stored URL and the Location it must be sent with: ASCII URLs exactly, others as their
  // WHATWG serialisation (invariant 7).
  const urls = [
    ['https://example.com/path?q=1&r=two#fragment', 'https://example.com/path?q=1&r=two#fragment'],
    ['https://example.com/a%2Fb%20c?x=%2F&y=%20&z=%E2%9C%93', 'https://example.com/a%2Fb%20c?x=%2F&y=%20&z=%E2%9C%93'],
    ['https://例え.jp/パス?q=ü', 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%C3%BC'],
    ['http://example.com:8080/ünïcödé/😀?emoji=🎉#ß', 'http://example.com:8080/%C3%BCn%C3%AFc%C3%B6d%C3%A9/%F0%9F%98%80?emoji=%F0%9F%8E%89#%C3%9F'],
    ['https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9', 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9'],
    ["https://example.com/a+b;c=d?e='f'&g=h+i", "https://example.com/a+b;c=d?e='f'&g=h+i"],
    ["https://user@example.com/~t/!$&'()*,;=:@/?q=[x]|{y}^`", "https://user@example.com/~t/!$&'()*,;=:@/?q=[x]|{y}^`"],
    ['HTTP://Example.COM:80/./a', 'HTTP://Example.COM:80/./a']
  ]

  it.each(urls)('answers 302 for %s with Location %s', async (url, location) => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, url)
    // The first answer comes from Cassandra, the second from the local cache: both the same.
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(port, 'GET', `/${key}`)
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toEqual(Buffer.from(location, 'ascii'))
      expect(res.headers.get('cache-control')?.toString()).toBe('private, max-age=0')
      expect(res.body.length).toBe(0)
    }
  })

  it('answers HEAD like GET, with no body, and counts only the GET as a click', async () => {
    const key = uniqueKey()
    const url = 'https://example.com/head?x=1'
    await storeLink(infra.cassandra, key, url)
    const keys = redisKeys(infra.prefix)

    const head = await rawRequest(port, 'HEAD', `/${key}`)
    expect(head.status).toBe(302)
    expect(head.headers.get('location')).toEqual(Buffer.from(url))
    expect(head.body.length).toBe(0)
    await app.clicks.flush()
    expect(await infra.redis.hget(keys.clicksPending, clickField(today(), key, false))).toBeNull()

    await rawRequest(port, 'GET', `/${key}`)
    await rawRequest(port, 'GET', `/${key}`, { 'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' })
    await app.clicks.flush()
    expect(await infra.redis.hget(keys.clicksPending, clickField(today(), key, false))).toBe('1')
    expect(await infra.redis.hget(keys.clicksPending, clickField(today(), key, true))).toBe('1')
  })

  it('answers 404 as JSON for API clients and as HTML for browsers when the key is unknown', async () => {
    const key = uniqueKey()
    const json = await app.inject({ url: `/${key}`, headers: { accept: 'application/json' } })
    expect(json.statusCode).toBe(404)
    expect(json.headers['content-type']).toMatch(/^application\/json/)
    expect(json.json()).toMatchObject({ statusCode: 404, error: 'Not Found', message: `No link with the key "${key}"` })

    const none = await app.inject({ url: `/${key}` })
    expect(none.statusCode).toBe(404)
    expect(none.headers['content-type']).toMatch(/^application\/json/)

    const html = await app.inject({ url: `/${key}`, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
    expect(html.statusCode).toBe(404)
    expect(html.headers['content-type']).toMatch(/^text\/html/)
    expect(html.body).toContain('<h1>Link not found</h1>')
  })

  it('answers 404 without touching Redis or Cassandra for paths that cannot be keys', async () => {
    const execute = vi.spyOn(infra.cassandra, 'execute')
    const command = vi.spyOn(infra.redis, 'sendCommand')
    const before = await app.inject('/metrics')
    const paths = ['/a', `/${'x'.repeat(65)}`, '/ab$c', '/ab%24c', '/%00abc', '/..', '/%E4%BE%8B%E3%81%88', '/例え', '/', '/a/b', '/abc/', '/favicon.ico']
    try {
      for (const path of paths) {
        const res = await app.inject({ url: path, headers: { accept: 'application/json' } })
        expect(res.statusCode, path).toBe(404)
        expect(res.json().statusCode, path).toBe(404)
      }
      expect(execute).not.toHaveBeenCalled()
      expect(command).not.toHaveBeenCalled()
      // The spies do see lookups: a well-formed unknown key goes to Redis, then Cassandra.
      expect((await app.inject(`/${uniqueKey()}`)).statusCode).toBe(404)
      expect(command).toHaveBeenCalled()
      expect(execute).toHaveBeenCalled()
    } finally {
      execute.mockRestore()
      command.mockRestore()
    }
    const after = await app.inject('/metrics')
    expect(metricValue(after.body, 'shortwave_link_lookups_total') - metricValue(before.body, 'shortwave_link_lookups_total')).toBe(1)
    expect(metricValue(after.body, 'shortwave_redirects_total', { result: 'invalid' }) -
      metricValue(before.body, 'shortwave_redirects_total', { result: 'invalid' })).toBe(paths.length)
  })

  it('answers 410 for a link whose expiry has passed (design.md: gone, not unknown)', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/expired', new Date(Date.now() - 60_000))
    const res = await app.inject(`/${key}`)
    expect(res.statusCode).toBe(410)
    expect(res.json()).toMatchObject({ statusCode: 410, code: 'SW_LINK_GONE' })
  })

  it('stops redirecting once a cached link expires, and never caches it past its expiry', async () => {
    const key = uniqueKey()
    const expiresAt = Date.now() + 2000
    await storeLink(infra.cassandra, key, 'https://example.com/soon', new Date(expiresAt))
    expect((await app.inject(`/${key}`)).statusCode).toBe(302)

    const pttl = await eventually(() => infra.redis.pttl(redisKeys(infra.prefix).link(key)), (t) => t > 0, 5000)
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(2000)

    const status = await eventually(async () => (await app.inject(`/${key}`)).statusCode, (s) => s === 410, expiresAt - Date.now() + 5000)
    expect(status).toBe(410)
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt)
  })

  it('caches an unknown key only briefly, so a link created afterwards starts redirecting', async () => {
    const key = uniqueKey()
    expect((await app.inject(`/${key}`)).statusCode).toBe(404)
    const negative = await eventually(() => infra.redis.get(redisKeys(infra.prefix).link(key)), (v) => v !== null, 5000)
    expect(negative).toBe('!')

    await storeLink(infra.cassandra, key, 'https://example.com/late')
    // LOCAL_NEGATIVE_TTL_MS (200) + REDIS_NEGATIVE_TTL_SECONDS (1), with room for a slow machine.
    const status = await eventually(async () => (await app.inject(`/${key}`)).statusCode, (s) => s === 302, 5000)
    expect(status).toBe(302)
  })
})

describe('configured redirect status', () => {
  it.each([
    [301, 'public, max-age=600'],
    [307, 'private, max-age=0'],
    [308, 'public, max-age=600']
  ] as const)('answers %i with Cache-Control "%s"', async (status, cacheControl) => {
    const other = await buildApp(config({ REDIRECT_STATUS: String(status), PERMANENT_MAX_AGE_SECONDS: '600' }),
      { cassandra: infra.cassandra, redis: infra.redis, logger: false })
    try {
      const key = uniqueKey()
      await storeLink(infra.cassandra, key, 'https://example.com/status')
      const res = await other.inject(`/${key}`)
      expect(res.statusCode).toBe(status)
      expect(res.headers.location).toBe('https://example.com/status')
      expect(res.headers['cache-control']).toBe(cacheControl)
    } finally {
      await other.close()
    }
  })

  it('lets browsers keep a permanent redirect no longer than the link lives', async () => {
    const other = await buildApp(config({ REDIRECT_STATUS: '301', PERMANENT_MAX_AGE_SECONDS: '3600' }),
      { cassandra: infra.cassandra, redis: infra.redis, logger: false })
    try {
      const key = uniqueKey()
      await storeLink(infra.cassandra, key, 'https://example.com/brief', new Date(Date.now() + 120_000))
      const res = await other.inject(`/${key}`)
      expect(res.statusCode).toBe(301)
      const maxAge = Number(/^public, max-age=(\d+)$/.exec(String(res.headers['cache-control']))?.[1])
      expect(maxAge).toBeGreaterThan(0)
      expect(maxAge).toBeLessThanOrEqual(120)
    } finally {
      await other.close()
    }
  })
})

describe('methods other than GET and HEAD', () => {
  it('answers them with 405 and Allow: GET, HEAD, on keys and on every other path, without a lookup or a click', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/post')
    const execute = vi.spyOn(infra.cassandra, 'execute')
    try {
      for (const [method, path] of [['POST', `/${key}`], ['DELETE', `/${key}`], ['PUT', '/a/b'], ['POST', '/'], ['POST', '/healthz'], ['OPTIONS', '/metrics']] as const) {
        const res = await app.inject({ method, url: path, headers: { accept: 'application/json' } })
        expect({ method, path, status: res.statusCode, allow: res.headers['allow'], location: res.headers['location'] })
          .toEqual({ method, path, status: 405, allow: 'GET, HEAD', location: undefined })
        expect(res.json()).toMatchObject({ statusCode: 405, code: 'SW_METHOD_NOT_ALLOWED' })
      }
      expect(execute).not.toHaveBeenCalled()
    } finally {
      execute.mockRestore()
    }
    await app.clicks.flush()
    expect(await infra.redis.hget(redisKeys(infra.prefix).clicksPending, clickField(today(), key, false))).toBeNull()
  })
})

describe('service endpoints', () => {
  it('reports alive and ready with both stores up', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200)
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { cassandra: 'up', redis: 'up' } })
  })

  it('exposes redirect, lookup and click counters on /metrics', async () => {
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/metrics')
    await app.inject(`/${key}`)
    await app.inject(`/${key}`)
    await app.clicks.flush()
    const text = (await app.inject('/metrics')).body
    expect(metricValue(text, 'shortwave_redirects_total', { result: 'redirect' })).toBeGreaterThanOrEqual(2)
    expect(metricValue(text, 'shortwave_redirects_total', { result: 'not_found' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'shortwave_link_lookups_total', { source: 'cassandra' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'shortwave_link_lookups_total', { source: 'local' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'shortwave_link_store_read_duration_seconds_count', { store: 'redis' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'shortwave_link_store_read_duration_seconds_count', { store: 'cassandra' })).toBeGreaterThanOrEqual(1)
    expect(metricValue(text, 'shortwave_clicks_recorded_total')).toBeGreaterThanOrEqual(2)
    expect(metricValue(text, 'shortwave_clicks_flushed_total')).toBeGreaterThanOrEqual(2)
    expect(text).toContain('shortwave_click_flush_errors_total')
    expect(text).toContain('shortwave_click_buffer_fields')
    // The flush derived the clicks' dimensions, parsing the user agent once.
    expect(metricValue(text, 'shortwave_click_analytics_total', { event: 'derived' })).toBeGreaterThanOrEqual(2)
    expect(text).toContain('shortwave_click_analytics_total{event="overflow"')
    expect(metricValue(text, 'shortwave_click_analytics_total', { event: 'overflow' })).toBe(0)
  })
})

describe('shutdown', () => {
  it('flushes buffered clicks on close, before its own Redis client disconnects', async () => {
    // No redis in deps: the plugin owns this client and disconnects it in onClose.
    const own = await buildApp(config(), { cassandra: infra.cassandra, logger: false })
    const key = uniqueKey()
    await storeLink(infra.cassandra, key, 'https://example.com/closing')
    expect((await own.inject(`/${key}`)).statusCode).toBe(302)
    expect(own.clicks.bufferedFields).toBe(1)
    const sequences = async (): Promise<string[]> => (await infra.redis.keys(`${infra.prefix}clicks:flushed:*`)).sort()
    const before = await sequences()
    await own.close()
    expect(await infra.redis.hget(redisKeys(infra.prefix).clicksPending, clickField(today(), key, false))).toBe('1')
    // Its flush wrote a sequence key, deleted once nothing more can come; the shared app's stays.
    expect(await sequences()).toEqual(before)
  })
})
