import { createLinkRepository, type StoredLink } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appWithCallers, createLink, startApp, type TestKey } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let alice: TestKey
let bob: TestKey
let admin: TestKey

beforeAll(async () => {
  infra = await createTestInfra('cs_edit')
  ;({ app, alice, bob, admin } = await appWithCallers(infra, 200))
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

async function created (body: object, headers: Record<string, string> = alice.auth): Promise<string> {
  const response = await createLink(app, body, headers)
  expect(response.statusCode).toBe(201)
  return response.json().key as string
}

function patch (key: string, body: unknown, headers: Record<string, string> = alice.auth, target = app) {
  return target.inject({ method: 'PATCH', url: `/api/v1/links/${key}`, payload: body as object, headers })
}

function read (key: string) {
  return app.inject({ method: 'GET', url: `/api/v1/links/${key}` })
}

function history (key: string, headers: Record<string, string> = alice.auth, query = '') {
  return app.inject({ method: 'GET', url: `/api/v1/links/${key}/history${query}`, headers })
}

async function stored (key: string): Promise<StoredLink> {
  return (await createLinkRepository(infra.cassandra).find(key))!
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, '.000Z')

describe('PATCH /api/v1/links/{key}', () => {
  it('replaces the url and answers 200 with the link as GET shows it, with a new ETag', async () => {
    const key = await created({ url: 'https://example.com/before' })
    const first = await read(key)
    expect(first.headers['etag']).toBe('"v0"')

    const response = await patch(key, { url: 'https://example.com/after' })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body).toMatchObject({ key, url: 'https://example.com/after', clicks: 0, title: null, tags: [], expiresAt: null })
    expect(Date.parse(body.updatedAt)).toBeGreaterThan(Date.parse(body.createdAt))
    expect(response.headers['etag']).toBe('"v1"')

    const again = await read(key)
    expect(again.json()).toEqual(body)
    expect(again.headers['etag']).toBe('"v1"')
    expect(await stored(key)).toMatchObject({ url: 'https://example.com/after', version: 1 })
  })

  it('sets an expiry by expiresAt or ttlSeconds, and removes it with expiresAt: null', async () => {
    const key = await created({ url: 'https://example.com/expiry' })
    const at = inAnHour()
    expect((await patch(key, { expiresAt: at })).json().expiresAt).toBe(at)
    expect((await stored(key)).expiresAt?.toISOString()).toBe(at)

    const before = Date.now()
    const byTtl = (await patch(key, { ttlSeconds: 120 })).json()
    expect(Date.parse(byTtl.expiresAt) - before).toBeGreaterThanOrEqual(119_000)
    expect(Date.parse(byTtl.expiresAt) - before).toBeLessThanOrEqual(121_000)

    const removed = await patch(key, { expiresAt: null })
    expect(removed.statusCode).toBe(200)
    expect(removed.json().expiresAt).toBeNull()
    expect((await stored(key)).expiresAt).toBeNull()
  })

  it('sets, replaces and removes the title and the tags', async () => {
    const key = await created({ url: 'https://example.com/labels' })
    const set = await patch(key, { title: 'Spring sale – 20 % off', tags: ['spring-2027', 'Campaign', 'b2b'] })
    // In the order every read gives them: a set, sorted.
    expect(set.json()).toMatchObject({ title: 'Spring sale – 20 % off', tags: ['Campaign', 'b2b', 'spring-2027'] })
    expect((await read(key)).json().tags).toEqual(['Campaign', 'b2b', 'spring-2027'])

    // The tags sent replace the set; the title stays when not sent.
    const replaced = await patch(key, { tags: ['Q2'] })
    expect(replaced.json()).toMatchObject({ title: 'Spring sale – 20 % off', tags: ['Q2'] })

    const cleared = await patch(key, { title: null, tags: [] })
    expect(cleared.json()).toMatchObject({ title: null, tags: [] })
    expect(await stored(key)).toMatchObject({ title: null, tags: [], version: 3, url: 'https://example.com/labels' })
  })

  it('changes several fields at once', async () => {
    const key = await created({ url: 'https://example.com/many' })
    const at = inAnHour()
    const response = await patch(key, { url: 'https://example.org/', expiresAt: at, title: 'Many', tags: ['a', 'b'] })
    expect(response.json()).toMatchObject({ url: 'https://example.org/', expiresAt: at, title: 'Many', tags: ['a', 'b'] })
  })

  const past = new Date(Date.now() - 60_000).toISOString()
  it.each([
    [{}, 'the request body must hold at least one field: url, expiresAt, ttlSeconds, title, tags', 'FST_ERR_VALIDATION'],
    [{ colour: 'red' }, '"colour" is not a known field', 'FST_ERR_VALIDATION'],
    [{ url: 'https://example.com/ok', owner: 'someone' }, '"owner" is not a known field', 'FST_ERR_VALIDATION'],
    [{ alias: 'renamed' }, '"alias" is not a known field', 'FST_ERR_VALIDATION'],
    [{ url: 'ftp://example.com/' }, 'url must be an absolute URL starting with http:// or https://', 'FST_ERR_VALIDATION'],
    [{ url: null }, 'url must be a string', 'FST_ERR_VALIDATION'],
    [{ url: 'http://10.0.0.1/admin' }, 'url must point to a public host', 'SW_URL_PRIVATE_TARGET'],
    [{ url: 'http://localhost:8080/abc' }, 'url', 'SW_INVALID_URL'],
    [{ expiresAt: 'tomorrow' }, 'expiresAt must be an ISO-8601 date and time', 'SW_INVALID_EXPIRY'],
    [{ expiresAt: past }, 'is in the past', 'SW_INVALID_EXPIRY'],
    [{ expiresAt: '2030-01-01T00:00:00Z', ttlSeconds: 60 }, 'send either expiresAt or ttlSeconds, not both', 'SW_INVALID_EXPIRY'],
    [{ expiresAt: null, ttlSeconds: 60 }, 'send either expiresAt or ttlSeconds, not both', 'SW_INVALID_EXPIRY'],
    [{ ttlSeconds: 0 }, 'ttlSeconds must be at least 1', 'FST_ERR_VALIDATION'],
    [{ ttlSeconds: 'soon' }, 'ttlSeconds must be a whole number', 'FST_ERR_VALIDATION'],
    [{ title: 'x'.repeat(201) }, 'title must be at most 200 characters long', 'FST_ERR_VALIDATION'],
    [{ title: '' }, 'title must not be empty', 'FST_ERR_VALIDATION'],
    [{ title: 'two\nlines' }, 'title must not contain spaces or control characters; found a line feed', 'FST_ERR_VALIDATION'],
    [{ title: 'bell\u0007' }, 'title must not contain spaces or control characters', 'FST_ERR_VALIDATION'],
    [{ title: 42 }, 'title must be a string or null', 'FST_ERR_VALIDATION'],
    [{ tags: 'one' }, 'tags must be a JSON array', 'FST_ERR_VALIDATION'],
    [{ tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, 'tags must hold at most 10 items', 'FST_ERR_VALIDATION'],
    [{ tags: ['same', 'same'] }, 'tags must not hold the same item twice', 'FST_ERR_VALIDATION'],
    [{ tags: [''] }, 'tags.0 must be 1 to 32 letters', 'FST_ERR_VALIDATION'],
    [{ tags: ['has space'] }, 'tags.0 must not contain spaces or control characters; found a space', 'FST_ERR_VALIDATION'],
    [{ tags: ['-leading'] }, 'tags.0 must be 1 to 32 letters', 'FST_ERR_VALIDATION'],
    [{ tags: ['émoji'] }, 'tags.0 must be 1 to 32 letters', 'FST_ERR_VALIDATION'],
    [{ tags: ['x'.repeat(33)] }, 'tags.0 must be 1 to 32 letters', 'FST_ERR_VALIDATION'],
    // One bad field, and nothing of the rest is applied either.
    [{ url: 'https://example.com/fine', title: 'x'.repeat(201) }, 'title must be at most 200 characters long', 'FST_ERR_VALIDATION'],
    [{ url: 'https://example.com/fine', expiresAt: past }, 'is in the past', 'SW_INVALID_EXPIRY']
  ])('answers 400 to %j, naming the field, and changes nothing', async (body, message, code) => {
    const key = await created({ url: 'https://example.com/untouched', title: 'Kept', tags: ['kept'] })
    const before = await stored(key)
    const response = await patch(key, body)
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ statusCode: 400, code })
    expect(response.json().message).toContain(message)
    expect(await stored(key)).toEqual(before)
    expect((await history(key)).json().edits).toEqual([])
  })

  it('puts a new url through the URL policy exactly as a create does', async () => {
    const key = await created({ url: 'https://example.com/policy' })
    for (const url of ['http://169.254.169.254/latest', 'http://[::1]/', 'https://localhost:8080/x', 'http://127.0.0.1/']) {
      const create = await createLink(app, { url }, alice.auth)
      const edit = await patch(key, { url })
      expect(create.statusCode).toBe(400)
      expect(edit.json()).toEqual(create.json())
    }
    expect((await stored(key)).url).toBe('https://example.com/policy')
  })

  it('answers 401 without a key, 403 to another user and for an anonymous link, 404 for no such link', async () => {
    const key = await created({ url: 'https://example.com/alices' })
    const anonymous = await created({ url: 'https://example.com/anonymous' }, {})

    const none = await patch(key, { title: 'x' }, {})
    expect(none.statusCode).toBe(401)
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
    const notYours = await patch(key, { title: 'x' }, bob.auth)
    expect(notYours.statusCode).toBe(403)
    expect(notYours.json()).toMatchObject({ code: 'SW_FORBIDDEN', message: expect.stringMatching(/only its owner or an admin key may edit it/) })
    expect((await patch(anonymous, { title: 'x' }, alice.auth)).statusCode).toBe(403)
    expect((await patch('noSuchKey', { title: 'x' })).json()).toMatchObject({ statusCode: 404, code: 'SW_LINK_NOT_FOUND' })
    expect((await stored(key)).version).toBe(0)
    expect((await stored(anonymous)).version).toBe(0)

    // An admin key may edit any link, anonymous ones included.
    expect((await patch(anonymous, { title: 'Moderated' }, admin.auth)).json()).toMatchObject({ title: 'Moderated' })
    expect((await patch(key, { title: 'By ops' }, admin.auth)).statusCode).toBe(200)
  })

  it('keeps the clicks counted before the edit', async () => {
    const key = await created({ url: 'https://example.com/clicked' })
    const repo = createLinkRepository(infra.cassandra)
    await repo.addClicks(key, '2026-11-21', 5, 2)
    await repo.addClicks(key, new Date().toISOString().slice(0, 10), 3, 0)
    const edited = await patch(key, { url: 'https://example.com/clicked-elsewhere', tags: ['moved'] })
    expect(edited.json().clicks).toBe(8)
    expect((await read(key)).json().clicks).toBe(8)
    const stats = (await app.inject({ method: 'GET', url: `/api/v1/links/${key}/stats` })).json()
    expect(stats).toMatchObject({ clicks: 8, botClicks: 2 })
  })

  it('writes the new state through to the Redis cache at its version', async () => {
    const key = await created({ url: 'https://example.com/cached' })
    await patch(key, { url: 'https://example.com/recached' })
    const raw = await infra.redis.get(redisKeys(infra.prefix).link(key))
    expect(JSON.parse(raw!)).toEqual({ u: 'https://example.com/recached', e: null, v: 1 })
  })

  it('counts edits in shortwave_links_edited_total', async () => {
    const metric = async () => Number(/^shortwave_links_edited_total (\d+)$/m.exec((await app.inject({ url: '/metrics' })).body)?.[1])
    const before = await metric()
    const key = await created({ url: 'https://example.com/counted' })
    await patch(key, { title: 'Counted' })
    expect(await metric()).toBe(before + 1)
  })
})

describe('ETag and If-Match', () => {
  it('applies an edit whose If-Match names the current ETag, or *', async () => {
    const key = await created({ url: 'https://example.com/matched' })
    const one = await patch(key, { title: 'One' }, { ...alice.auth, 'if-match': '"v0"' })
    expect(one.statusCode).toBe(200)
    expect(one.headers['etag']).toBe('"v1"')
    const two = await patch(key, { title: 'Two' }, { ...alice.auth, 'if-match': '"v7", "v1"' })
    expect(two.headers['etag']).toBe('"v2"')
    const three = await patch(key, { title: 'Three' }, { ...alice.auth, 'if-match': '*' })
    expect(three.headers['etag']).toBe('"v3"')
  })

  it.each([['"v0"'], ['W/"v1"'], ['v1'], ['"v2"']])('answers 412 to If-Match: %s when the link is at "v1", and changes nothing', async (ifMatch) => {
    const key = await created({ url: 'https://example.com/stale' })
    await patch(key, { title: 'Current' })
    const before = await stored(key)
    const response = await patch(key, { url: 'https://example.com/overwritten' }, { ...alice.auth, 'if-match': ifMatch })
    expect(response.statusCode).toBe(412)
    expect(response.json()).toMatchObject({
      statusCode: 412, error: 'Precondition Failed', code: 'SW_PRECONDITION_FAILED', message: expect.stringMatching(/changed since you read it/)
    })
    expect(await stored(key)).toEqual(before)
  })

  describe('two concurrent edits that both read the link before either writes', () => {
    // Only the conditional write can then tell them apart.
    const barrier = readBarrier(() => infra.cassandra, 2)
    let racing: FastifyInstance

    beforeAll(async () => { racing = await startApp(infra, {}, { cassandra: barrier.client() }) })
    afterAll(async () => { await racing?.close() })

    it('lets exactly one through when both send the same If-Match: 200 and 412', async () => {
      const key = await created({ url: 'https://example.com/contested' })
      barrier.arm()
      const ifMatch = { ...alice.auth, 'if-match': '"v0"' }
      const answers = await Promise.all([
        patch(key, { url: 'https://example.com/first' }, ifMatch, racing),
        patch(key, { url: 'https://example.com/second' }, ifMatch, racing)
      ])
      expect(barrier.passed()).toBe(2)
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 412])
      const winner = answers.find((a) => a.statusCode === 200)!.json()
      expect(await stored(key)).toMatchObject({ url: winner.url, version: 1 })
      expect((await history(key)).json().edits).toHaveLength(1)
    })

    it('lets either an edit or a delete through when both send the same If-Match, never both', async () => {
      const key = await created({ url: 'https://example.com/edit-or-delete' })
      barrier.arm()
      const ifMatch = { ...alice.auth, 'if-match': '"v0"' }
      const [edited, deleted] = await Promise.all([
        patch(key, { url: 'https://example.com/edited' }, ifMatch, racing),
        racing.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers: ifMatch })
      ])
      expect(barrier.passed()).toBe(2)
      expect([edited.statusCode, deleted.statusCode].sort())
        .toEqual(edited.statusCode === 200 ? [200, 412] : [204, 412])
      expect((await read(key)).statusCode).toBe(edited.statusCode === 200 ? 200 : 404)
    })

    it('applies both, one after the other, when neither sends If-Match', async () => {
      const key = await created({ url: 'https://example.com/both' })
      barrier.arm()
      const answers = await Promise.all([
        patch(key, { title: 'first' }, alice.auth, racing),
        patch(key, { tags: ['second'] }, alice.auth, racing)
      ])
      expect(barrier.passed()).toBe(2)
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200])
      expect(await stored(key)).toMatchObject({ title: 'first', tags: ['second'], version: 2 })
    })
  })

  it('applies one of two conditional writes on the same version in the repository', async () => {
    const key = await created({ url: 'https://example.com/lwt' })
    const repo = createLinkRepository(infra.cassandra)
    const link = await stored(key)
    const applied = await Promise.all([
      repo.applyEdit(link, { url: 'https://example.com/a' }, new Date()),
      repo.applyEdit(link, { url: 'https://example.com/b' }, new Date())
    ])
    expect(applied.filter(Boolean)).toHaveLength(1)
    expect((await stored(key)).version).toBe(1)
    // A deleted link takes no edit, whatever version the editor saw.
    await repo.markDeleted(await stored(key))
    expect(await repo.applyEdit({ key, version: 1 }, { title: 'late' }, new Date())).toBe(false)
  })

  it('honours If-Match on DELETE: 412 and the link stays on a stale one, 204 on the current one', async () => {
    const key = await created({ url: 'https://example.com/delete-me' })
    await patch(key, { title: 'Edited' })
    const stale = await app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers: { ...alice.auth, 'if-match': '"v0"' } })
    expect(stale.statusCode).toBe(412)
    expect((await read(key)).statusCode).toBe(200)
    const current = await app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers: { ...alice.auth, 'if-match': '"v1"' } })
    expect(current.statusCode).toBe(204)
    expect((await read(key)).statusCode).toBe(404)
    expect((await patch(key, { title: 'Too late' })).statusCode).toBe(404)
  })

  it('gives a new link the ETag "v0"', async () => {
    const response = await createLink(app, { url: 'https://example.com/fresh' }, alice.auth)
    expect(response.headers['etag']).toBe('"v0"')
  })
})

describe('GET /api/v1/links/{key}/history', () => {
  const edit = (version: number, editedBy: string, before: object, after: object) =>
    ({ version, editedAt: expect.any(String), editedBy, before, after })

  it('lists the edits newest first: when, by which API key, the fields sent before and after', async () => {
    const key = await created({ url: 'https://example.com/v0', tags: ['x'] })
    const at = inAnHour()
    await patch(key, { url: 'https://example.com/v1', title: 'First' })
    await patch(key, { expiresAt: at, tags: ['y', 'z'] }, admin.auth)
    await patch(key, { expiresAt: null, title: null })

    const response = await history(key)
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body).toEqual({
      key,
      nextCursor: null,
      edits: [
        edit(3, alice.id, { expiresAt: at, title: 'First' }, { expiresAt: null, title: null }),
        edit(2, admin.id, { expiresAt: null, tags: ['x'] }, { expiresAt: at, tags: ['y', 'z'] }),
        edit(1, alice.id, { url: 'https://example.com/v0', title: null }, { url: 'https://example.com/v1', title: 'First' })
      ]
    })
    const times = body.edits.map((e: { editedAt: string }) => Date.parse(e.editedAt))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    expect(times[0]).toBe(Date.parse((await read(key)).json().updatedAt))
  })

  it('pages with limit and cursor', async () => {
    const key = await created({ url: 'https://example.com/paged' })
    for (let i = 1; i <= 5; i++) await patch(key, { title: `t${i}` })
    const versions: number[] = []
    let cursor: string | null = null
    do {
      const page: { edits: Array<{ version: number }>, nextCursor: string | null } = (await history(key, alice.auth, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()
      versions.push(...page.edits.map((e: { version: number }) => e.version))
      cursor = page.nextCursor
    } while (cursor !== null)
    expect(versions).toEqual([5, 4, 3, 2, 1])
    expect((await history(key, alice.auth, '?limit=0')).statusCode).toBe(400)
    expect((await history(key, alice.auth, '?cursor=abc')).json().message).toMatch(/^cursor must be/)
    // Past what a version can be: refused, not sent to Cassandra to overflow.
    expect((await history(key, alice.auth, '?cursor=9999999999')).statusCode).toBe(400)
    expect((await history(key, alice.auth, '?cursor=999999999')).json().edits).toHaveLength(5)
  })

  it('answers an empty list for a link never edited, 401 without a key and 403 to another user', async () => {
    const key = await created({ url: 'https://example.com/quiet' })
    expect((await history(key)).json()).toEqual({ key, edits: [], nextCursor: null })
    expect((await history(key, admin.auth)).statusCode).toBe(200)
    expect((await history(key, {})).statusCode).toBe(401)
    expect((await history(key, bob.auth)).json()).toMatchObject({ statusCode: 403, code: 'SW_FORBIDDEN' })
  })
})

describe('title and tags on create', () => {
  it('stores and returns them on a single create and on each link of a batch', async () => {
    const single = await createLink(app, { url: 'https://example.com/titled', title: 'Titled', tags: ['one', 'two'] }, alice.auth)
    expect(single.json()).toMatchObject({ title: 'Titled', tags: ['one', 'two'] })
    expect((await read(single.json().key)).json()).toMatchObject({ title: 'Titled', tags: ['one', 'two'] })

    const batch = await app.inject({
      method: 'POST',
      url: '/api/v1/links/batch',
      headers: alice.auth,
      payload: { links: [{ url: 'https://example.com/b1', title: 'B1', tags: ['batch'] }, { url: 'https://example.com/b2', tags: ['a', 'a'] }] }
    })
    const [ok, bad] = batch.json().results
    expect(ok).toMatchObject({ status: 201, link: { title: 'B1', tags: ['batch'] } })
    expect(await stored(ok.link.key)).toMatchObject({ title: 'B1', tags: ['batch'] })
    expect(bad).toMatchObject({ status: 400, error: { message: 'tags must not hold the same item twice' } })
  })

  it('answers 400 to a bad title or tags on create', async () => {
    expect((await createLink(app, { url: 'https://example.com/t', title: 'x'.repeat(201) }, alice.auth)).json().message)
      .toBe('title must be at most 200 characters long')
    expect((await createLink(app, { url: 'https://example.com/t', tags: ['ok', 'not ok'] }, alice.auth)).json().message)
      .toMatch(/^tags\.1 must not contain spaces/)
  })
})

/**
 * The shared client, with reads of a link held back until `parties` of them are waiting once armed:
 * concurrent requests then all hold the same state before any of them writes.
 */
function readBarrier (client: () => cassandra.Client, parties: number) {
  let armed = false
  let waiting: Array<() => void> = []
  let passed = 0
  const execute = async (query: string, ...rest: unknown[]) => {
    if (armed && query.startsWith('SELECT url, created_at') && passed < parties) {
      passed++
      await new Promise<void>((resolve) => {
        waiting.push(resolve)
        if (waiting.length === parties) for (const release of waiting) release()
      })
    }
    return await (client().execute as (...args: unknown[]) => Promise<unknown>)(query, ...rest)
  }
  return {
    client: () => new Proxy(client(), {
      get (target, property) {
        if (property === 'execute') return execute
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
    }),
    arm () {
      armed = true
      waiting = []
      passed = 0
    },
    passed: () => passed
  }
}
