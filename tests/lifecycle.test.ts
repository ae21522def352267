import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, inParallel, startManagedStack, waitFor, type Stack } from './helpers/stack.ts'

// design.md, "Lifecycle at redirect time", through the real services on two redirect replicas
// that share one Redis and one Cassandra: validFrom, disabled, maxClicks, fallbackUrl,
// forwardQuery and redirectStatus, set on create and by PATCH.
type Json = Record<string, any>

describe('the lifecycle of a link at redirect time', () => {
  let infra: TestInfra
  let stack: Stack
  let auth: Record<string, string>

  beforeAll(async () => {
    infra = await createTestInfra('e2e_life')
    ;({ stack, auth } = await startManagedStack(infra, { env: { CLICK_FLUSH_INTERVAL_MS: '200', CLICK_FOLD_INTERVAL_MS: '200' } }))
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  async function created (body: object): Promise<Record<string, unknown>> {
    const response = await createLink(stack.createUrl, body, auth)
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return response.body
  }

  async function api (method: string, key: string, body?: object, path = ''): Promise<{ status: number, body: Json }> {
    const response = await fetch(`${stack.createUrl}/api/v1/links/${key}${path}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {})
    })
    return { status: response.status, body: await response.json() as Json }
  }

  interface Answer { status: number, location: string | null, cacheControl: string | null }

  async function follow (base: string, path: string, method = 'GET'): Promise<Answer> {
    const response = await fetch(new URL(path, base), { method, redirect: 'manual' })
    await response.arrayBuffer()
    return { status: response.status, location: response.headers.get('location'), cacheControl: response.headers.get('cache-control') }
  }

  const first = (path: string, method?: string): Promise<Answer> => follow(stack.redirectUrls[0]!, path, method)
  const second = (path: string, method?: string): Promise<Answer> => follow(stack.redirectUrls[1]!, path, method)

  it('keeps the redirect of a link without rules exactly as it was', async () => {
    const { key } = await created({ url: 'https://example.com/plain' })
    expect(await first(`/${key}`)).toEqual({ status: 302, location: 'https://example.com/plain', cacheControl: 'private, max-age=0' })
    const raw = await infra.redis.get(redisKeys(infra.prefix).link(key as string))
    expect(raw).toBe('{"u":"https://example.com/plain","e":null}')
  })

  it('answers every field back on create, GET and PATCH', async () => {
    const fields = {
      validFrom: '2020-01-01T00:00:00.000Z',
      maxClicks: 7,
      fallbackUrl: 'https://example.com/fb',
      disabled: false,
      forwardQuery: true,
      redirectStatus: 307
    }
    const link = await created({ url: 'https://example.com/fields', ...fields })
    expect(link).toMatchObject(fields)
    expect((await api('GET', link['key'] as string)).body).toMatchObject(fields)
    const cleared = { validFrom: null, maxClicks: null, fallbackUrl: null, redirectStatus: null, forwardQuery: false }
    const patched = await api('PATCH', link['key'] as string, cleared)
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject(cleared)
    // No rule left: the cache entry is a plain link's again, version aside.
    const raw = JSON.parse((await infra.redis.get(redisKeys(infra.prefix).link(link['key'] as string)))!) as object
    expect(raw).not.toHaveProperty('r')
  })

  it('refuses bad lifecycle fields with 400 naming the field, and stores nothing', async () => {
    const cases: Array<[object, string]> = [
      [{ maxClicks: 0 }, 'maxClicks'],
      [{ redirectStatus: 303 }, 'redirectStatus'],
      [{ fallbackUrl: 'http://127.0.0.1/admin' }, 'fallbackUrl'],
      [{ fallbackUrl: 'ftp://example.com/x' }, 'fallbackUrl'],
      [{ validFrom: 'tomorrow' }, 'validFrom'],
      [{ validFrom: '2030-01-02T00:00:00Z', expiresAt: '2030-01-01T00:00:00Z' }, 'validFrom'],
      [{ disabled: 'yes' }, 'disabled']
    ]
    for (const [fields, field] of cases) {
      const response = await createLink(stack.createUrl, { url: 'https://example.com/bad', alias: `bad-${field}`, ...fields }, auth)
      expect(response.status, JSON.stringify(fields)).toBe(400)
      expect(response.body['message'] as string).toContain(field)
      expect((await api('GET', `bad-${field}`)).status).toBe(404)
    }
    const { key } = await created({ url: 'https://example.com/window', expiresAt: '2030-01-01T00:00:00Z' })
    const late = await api('PATCH', key as string, { validFrom: '2030-06-01T00:00:00Z' })
    expect(late.status).toBe(400)
    expect(late.body.message).toContain('validFrom')
    expect((await api('GET', key as string)).body.validFrom).toBeNull()
  })

  it('uses the link\'s own redirect status, and merges the query string when forwardQuery is on', async () => {
    const { key } = await created({ url: 'https://example.com/t?a=1&b=2#top', forwardQuery: true, redirectStatus: 308 })
    const answer = await first(`/${key}?b=3&utm_source=mail`)
    expect(answer).toEqual({ status: 308, location: 'https://example.com/t?a=1&b=3&utm_source=mail#top', cacheControl: 'private, max-age=0' })
    expect((await second(`/${key}`)).location).toBe('https://example.com/t?a=1&b=2#top')
  })

  it('waits for validFrom, sending people to the fallback until then', async () => {
    const validFrom = new Date(Date.now() + 1500)
    const { key } = await created({ url: 'https://example.com/launch', validFrom: validFrom.toISOString(), fallbackUrl: 'https://example.com/soon' })
    const early = await first(`/${key}`)
    expect(early).toEqual({ status: 302, location: 'https://example.com/soon', cacheControl: 'no-store' })
    const later = await waitFor('validFrom to pass', async () => {
      const answer = await second(`/${key}`)
      return answer.location === 'https://example.com/launch' && answer
    }, 10_000)
    expect(Date.now()).toBeGreaterThanOrEqual(validFrom.getTime())
    expect(later.status).toBe(302)
  })

  it('answers 404 before validFrom when there is no fallback', async () => {
    const { key } = await created({ url: 'https://example.com/later', validFrom: '2099-01-01T00:00:00Z' })
    expect((await first(`/${key}`)).status).toBe(404)
  })

  it('stops redirecting on both replicas within 5 s of a PATCH that disables the link, and starts again', async () => {
    const { key } = await created({ url: 'https://example.com/switch' })
    for (const go of [first, second]) expect((await go(`/${key}`)).status).toBe(302)
    expect((await api('PATCH', key as string, { disabled: true })).status).toBe(200)
    const disabledAt = Date.now()
    for (const go of [first, second]) {
      await waitFor('the replica to stop redirecting', async () => (await go(`/${key}`)).status === 404, 5000)
    }
    expect(Date.now() - disabledAt).toBeLessThan(5000)
    expect((await api('PATCH', key as string, { disabled: false, fallbackUrl: 'https://example.com/off' })).status).toBe(200)
    for (const go of [first, second]) {
      await waitFor('the replica to redirect again', async () => (await go(`/${key}`)).location === 'https://example.com/switch', 5000)
    }
  })

  it('redirects exactly maxClicks GETs across two replicas under concurrency; HEAD never uses one up', async () => {
    const { key } = await created({ url: 'https://example.com/capped', maxClicks: 50 })
    for (const go of [first, second]) expect((await go(`/${key}`, 'HEAD')).status).toBe(302)
    const answers = await inParallel(Array.from({ length: 200 }, (_, i) => i), 200, async (i) =>
      (i % 2 === 0 ? first : second)(`/${key}`))
    const toTarget = answers.filter((a) => a.status === 302 && a.location === 'https://example.com/capped').length
    const gone = answers.filter((a) => a.status === 410).length
    expect({ toTarget, gone }).toEqual({ toTarget: 50, gone: 150 })
    // HEAD only looks: it says what the next GET would get.
    expect((await first(`/${key}`, 'HEAD')).status).toBe(410)

    // Raising the cap lets that many more through; a fallback takes the rest.
    const raised = await api('PATCH', key as string, { maxClicks: 55, fallbackUrl: 'https://example.com/sold-out' })
    expect(raised.status).toBe(200)
    await waitFor('the new cap on both replicas', async () => (await second(`/${key}`, 'HEAD')).status === 302, 5000)
    await waitFor('the new cap on both replicas', async () => (await first(`/${key}`, 'HEAD')).status === 302, 5000)
    const after = await inParallel(Array.from({ length: 20 }, (_, i) => i), 20, async (i) => (i % 2 === 0 ? first : second)(`/${key}`))
    expect(after.filter((a) => a.location === 'https://example.com/capped')).toHaveLength(5)
    expect(after.filter((a) => a.location === 'https://example.com/sold-out')).toHaveLength(15)
  })

  it('answers 410 once the link expires, and its owner still reads it and its clicks', async () => {
    const { key } = await created({ url: 'https://example.com/ending', ttlSeconds: 1 })
    expect((await first(`/${key}`)).status).toBe(302)
    await waitFor('the click to be counted', async () => (await api('GET', key as string)).body.clicks === 1, 10_000)
    // HEAD, so that only the one GET above is a click.
    await waitFor('the link to expire', async () => (await second(`/${key}`, 'HEAD')).status === 410, 10_000)
    const gone = await fetch(new URL(`/${key}`, stack.redirectUrl), { headers: { accept: 'application/json' }, redirect: 'manual' })
    expect(gone.status).toBe(410)
    expect(await gone.json()).toMatchObject({ statusCode: 410, code: 'SW_LINK_GONE' })
    const html = await fetch(new URL(`/${key}`, stack.redirectUrl), { headers: { accept: 'text/html' }, redirect: 'manual' })
    expect(await html.text()).toContain('expired or reached its click limit')

    const meta = await api('GET', key as string)
    expect(meta.status).toBe(200)
    // The GETs answered 410 were not clicks either.
    expect(meta.body).toMatchObject({ key, url: 'https://example.com/ending', clicks: 1 })
    expect((await api('GET', key as string, undefined, '/stats')).body).toMatchObject({ clicks: 1 })
    // Not for anyone else.
    expect((await fetch(`${stack.createUrl}/api/v1/links/${key}`)).status).toBe(404)
  })

  it('answers 503 with Retry-After for a capped link when Redis cannot count, and keeps redirecting uncapped ones', async () => {
    const { key: capped } = await created({ url: 'https://example.com/capped-down', maxClicks: 5 })
    const { key: plain } = await created({ url: 'https://example.com/plain-down' })
    // Cached on the replica, so only the counter needs Redis.
    for (const key of [capped, plain]) expect((await first(`/${key}`, 'HEAD')).status).toBe(302)
    const counter = redisKeys(infra.prefix).clickCap(capped as string)
    // A counter that is not a number makes INCR fail as a Redis outage would, for this key alone.
    await infra.redis.set(counter, 'not-a-number')
    const response = await fetch(new URL(`/${capped}`, stack.redirectUrl), { redirect: 'manual' })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('2')
    expect((await first(`/${plain}`)).status).toBe(302)
    await infra.redis.del(counter)
  })
})
