import { readFileSync } from 'node:fs'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { waitFor } from '@shortwave/testing/wait-for'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobView } from '../src/import/import-jobs.ts'
import type { ImportJob } from '../src/import/import-store.ts'
import { appWithCallers, newApiKey, observedCassandra, startApp, type TestKey } from './helpers.ts'

// POST /api/v1/links/import, the job endpoints and GET /api/v1/links/export against the real
// Cassandra and Redis, through the app.

const FIXTURES = new URL('../../tests/fixtures/import/', import.meta.url)
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8')
const typeOf = (name: string) => name.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson'

let infra: TestInfra
let app: FastifyInstance
let alice: TestKey
let bob: TestKey
let admin: TestKey

beforeAll(async () => {
  infra = await createTestInfra('cs_import')
  ;({ app, alice, bob, admin } = await appWithCallers(infra, 200))
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

function upload (body: string, type: string, auth: Record<string, string>, query = '', on = app) {
  return on.inject({ method: 'POST', url: `/api/v1/links/import${query}`, payload: body, headers: { 'content-type': type, ...auth } })
}

type JobBody = ImportJob & Record<string, unknown>

async function finished (id: string, auth: Record<string, string>, on = app): Promise<JobBody> {
  return await waitFor(`import ${id} to finish`, async () => {
    const job = (await on.inject({ method: 'GET', url: `/api/v1/imports/${id}`, headers: auth })).json()
    return job.status !== 'running' && job
  }, 60_000)
}

async function imported (body: string, type: string, auth: Record<string, string>, query = '', on = app) {
  const response = await upload(body, type, auth, query, on)
  expect(response.statusCode, response.body).toBe(202)
  return await finished(response.json().id as string, auth, on)
}

function exported (auth: Record<string, string>, query = '', on = app) {
  return on.inject({ method: 'GET', url: `/api/v1/links/export${query}`, headers: auth })
}

const link = (key: string) => app.inject({ method: 'GET', url: `/api/v1/links/${key}` })

describe('import of each layout', () => {
  const cases = [
    ['shortwave.csv', 'shortwave', 3],
    ['shortwave.ndjson', 'shortwave', 3],
    ['bitly.csv', 'bitly', 3],
    ['yourls.csv', 'yourls', 3],
    ['kutt.ndjson', 'kutt', 2],
    ['shlink.csv', 'shlink', 3]
  ] as const
  for (const [name, layout, rows] of cases) {
    it(`imports ${name} as ${layout}: every row created, then a re-run creates nothing new`, async () => {
      const first = await imported(fixture(name), typeOf(name), alice.auth)
      expect(first).toMatchObject({ status: 'completed', layout, total: rows, done: rows, created: rows, skipped: 0, failed: 0 })
      const again = await imported(fixture(name), typeOf(name), alice.auth)
      expect(again).toMatchObject({ status: 'completed', total: rows, created: 0, skipped: rows, failed: 0 })
    })
  }

  it('creates the links as a single create would, owned by the importing key', async () => {
    const sale = (await link('fx-spring-sale')).json()
    expect(sale).toMatchObject({
      url: 'https://example.com/sale?utm_source=mail',
      title: 'Spring sale, 2027',
      tags: ['campaign', 'spring'],
      maxClicks: 500,
      fallbackUrl: 'https://example.com/sold-out',
      forwardQuery: true,
      redirectStatus: 301,
      expiresAt: '2030-01-01T00:00:00.000Z',
      clicks: 0
    })
    expect((await link('fxBit01')).json()).toMatchObject({ url: 'https://www.example.com/blog/2024/launch', tags: ['blog', 'launch'] })
    expect((await link('fx-kutt-b')).json()).toMatchObject({ url: 'https://example.com/kutt/b', expiresAt: '2031-10-01T10:00:00.000Z' })
    const owned = (await app.inject({ method: 'GET', url: '/api/v1/links?limit=100', headers: alice.auth })).json().links as Array<{ key: string }>
    expect(owned.map((l) => l.key)).toEqual(expect.arrayContaining(['fx-spring-sale', 'fxShl1', 'fx-yourls-1', 'fx-nd-three']))
  })
})

describe('rows that fail', () => {
  it('lists each bad row with its line and field, and creates none of them', async () => {
    const job = await imported(fixture('bad-rows.csv'), 'text/csv', bob.auth)
    expect(job).toMatchObject({ status: 'completed', total: 6, created: 2, failed: 4, skipped: 0 })
    const errors = (await app.inject({ method: 'GET', url: `/api/v1/imports/${job.id}/errors`, headers: bob.auth })).json()
    expect(errors.errors).toEqual([
      { line: 3, field: 'url', message: expect.stringMatching(/^url must/), code: 'FST_ERR_VALIDATION' },
      { line: 4, field: 'key', message: expect.stringMatching(/^key must be 3 to 64/), code: 'FST_ERR_VALIDATION' },
      { line: 5, field: 'key', message: 'key "fx-good-1" is on line 2 already', code: 'SW_ALIAS_TAKEN' },
      { line: 6, field: 'url', message: expect.stringMatching(/private/), code: 'SW_URL_PRIVATE_TARGET' }
    ])
    expect(errors.nextCursor).toBeNull()
    expect((await link('fx-bad-url')).statusCode).toBe(404)
    expect((await link('fx-private')).statusCode).toBe(404)
    expect((await link('fx-good-1')).json().url).toBe('https://example.com/good/1')
  })

  it('pages through the errors in line order', async () => {
    const job = await imported(fixture('bad-rows.csv'), 'text/csv', bob.auth)
    // Re-run: the two good rows are skipped, the four bad ones fail again.
    expect(job).toMatchObject({ created: 0, skipped: 2, failed: 4 })
    const first = (await app.inject({ method: 'GET', url: `/api/v1/imports/${job.id}/errors?limit=3`, headers: bob.auth })).json()
    expect(first.errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 5])
    const rest = (await app.inject({ method: 'GET', url: `/api/v1/imports/${job.id}/errors?limit=3&cursor=${first.nextCursor}`, headers: bob.auth })).json()
    expect(rest).toMatchObject({ errors: [{ line: 6 }], nextCursor: null })
  })

  it('refuses a key another API key holds, listing it', async () => {
    const job = await imported('url,key\nhttps://example.com/mine,fx-spring-sale\n', 'text/csv', bob.auth)
    expect(job).toMatchObject({ created: 0, failed: 1 })
    const errors = (await app.inject({ method: 'GET', url: `/api/v1/imports/${job.id}/errors`, headers: bob.auth })).json()
    expect(errors.errors).toEqual([{ line: 2, field: 'key', message: expect.stringMatching(/already taken/), code: 'SW_ALIAS_TAKEN' }])
    expect((await link('fx-spring-sale')).json().url).toBe('https://example.com/sale?utm_source=mail')
  })

  it('makes one link of a key-less row repeated in the file', async () => {
    const job = await imported('url,title\nhttps://example.com/twice,T\nhttps://example.com/twice,T\n', 'text/csv', bob.auth)
    expect(job).toMatchObject({ created: 1, skipped: 1, failed: 0 })
  })
})

describe('bad requests change nothing', () => {
  async function aliceCount (): Promise<number> {
    return (await exported(alice.auth)).body.trim().split('\r\n').length - 1
  }

  it('answers 400 naming format, 415 for another body type, 413 over the limit, 401 without a key', async () => {
    const before = await aliceCount()
    const badFormat = await upload(fixture('shortwave.csv'), 'text/csv', alice.auth, '?format=xml')
    expect(badFormat.statusCode).toBe(400)
    expect(badFormat.json().message).toMatch(/format/)
    const mismatch = await upload('url\nhttps://example.com/zz1\n', 'text/csv', alice.auth, '?format=ndjson')
    expect(mismatch.statusCode).toBe(400)
    expect(mismatch.json().message).toMatch(/^format=ndjson/)
    const unknown = await upload('a,b\n1,2\n', 'text/csv', alice.auth)
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json()).toMatchObject({ code: 'SW_INVALID_IMPORT', message: expect.stringMatching(/^format:/) })
    const json = await app.inject({ method: 'POST', url: '/api/v1/links/import', payload: { url: 'https://example.com/j' }, headers: alice.auth })
    expect(json.statusCode).toBe(415)
    const plain = await upload('url\nhttps://example.com/zz2\n', 'text/plain', alice.auth)
    expect(plain.statusCode).toBe(415)
    expect((await upload('url\nhttps://example.com/zz3\n', 'text/csv', {})).statusCode).toBe(401)
    const badExport = await exported(alice.auth, '?format=xml')
    expect(badExport.statusCode).toBe(400)
    expect(badExport.json().message).toMatch(/^querystring\/format|format/)
    expect(await aliceCount()).toBe(before)
  })

  it('answers 413 for an upload over IMPORT_MAX_BYTES, by its length or as it streams', async () => {
    const small = await startApp(infra, { IMPORT_MAX_BYTES: '2048' })
    try {
      const body = 'url\n' + Array.from({ length: 200 }, (_, i) => `https://example.com/big/${i}`).join('\n')
      const declared = await upload(body, 'text/csv', alice.auth, '', small)
      expect(declared.statusCode).toBe(413)
      expect(declared.json().code).toBe('SW_IMPORT_TOO_LARGE')
      const chunked = await small.inject({
        method: 'POST', url: '/api/v1/links/import', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked', ...alice.auth }, payload: body
      })
      expect(chunked.statusCode).toBe(413)
      expect((await link('big')).statusCode).toBe(404)
    } finally {
      await small.close()
    }
  })
})

describe('auth', () => {
  it('lets the owner and an admin read a job, and no one else', async () => {
    const response = await upload('url\nhttps://example.com/auth-job\n', 'text/csv', alice.auth)
    const id = response.json().id as string
    expect(response.headers['location']).toMatch(new RegExp(`/api/v1/imports/${id}$`))
    await finished(id, alice.auth)
    expect((await app.inject({ method: 'GET', url: `/api/v1/imports/${id}`, headers: admin.auth })).statusCode).toBe(200)
    const other = await app.inject({ method: 'GET', url: `/api/v1/imports/${id}`, headers: bob.auth })
    expect(other.statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: `/api/v1/imports/${id}/errors`, headers: bob.auth })).statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: `/api/v1/imports/${id}` })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/api/v1/imports/imp_000000000000000000000000', headers: alice.auth })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/api/v1/imports/nonsense', headers: alice.auth })).json().code).toBe('SW_IMPORT_NOT_FOUND')
  })

  it('exports the caller\'s own links; an admin any key\'s with ?owner=, no one else', async () => {
    const carol = await newApiKey(infra, 'user', 'carol')
    await imported('url,key\nhttps://example.com/carol/1,fx-carol-1\n', 'text/csv', carol.auth)
    const own = await exported(carol.auth)
    expect(own.body).toContain('fx-carol-1')
    expect(own.body).not.toContain('fx-spring-sale')
    expect((await exported(bob.auth, `?owner=${carol.id}`)).statusCode).toBe(403)
    const byAdmin = await exported(admin.auth, `?owner=${carol.id}`)
    expect(byAdmin.statusCode).toBe(200)
    expect(byAdmin.body).toBe(own.body)
    expect((await exported({})).statusCode).toBe(401)
  })
})

describe('export', () => {
  it('streams CSV and NDJSON with a filename, every create field and the clicks', async () => {
    const csv = await exported(alice.auth)
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="shortwave-links-\d{4}-\d{2}-\d{2}\.csv"$/)
    expect(csv.headers['content-length']).toBeUndefined()
    const [header, ...lines] = csv.body.trim().split('\r\n')
    expect(header).toBe('key,domain,shortUrl,url,title,tags,createdAt,expiresAt,validFrom,maxClicks,fallbackUrl,disabled,forwardQuery,redirectStatus,clicks')
    expect(lines.find((l) => l.startsWith('fx-spring-sale,'))).toMatch(
      /^fx-spring-sale,localhost,http:\/\/localhost:8080\/fx-spring-sale,https:\/\/example.com\/sale\?utm_source=mail,"Spring sale, 2027",campaign\|spring,[^,]+,2030-01-01T00:00:00.000Z,,500,https:\/\/example.com\/sold-out,false,true,301,0$/
    )
    const nd = await exported(alice.auth, '?format=ndjson')
    expect(nd.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    expect(nd.headers['content-disposition']).toMatch(/\.ndjson"$/)
    const objects = nd.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(objects).toHaveLength(lines.length)
    expect(objects.find((o) => o['key'] === 'fx-nd-one')).toMatchObject({ tags: ['a', 'b'], maxClicks: 10, clicks: 0, domain: 'localhost' })
  })

  it('exports many links, page by page, each once', async () => {
    const dave = await newApiKey(infra, 'user', 'dave')
    const rows = Array.from({ length: 1050 }, (_, i) => `https://example.com/many/${i},fx-many-${i}`)
    const job = await imported(`url,key\n${rows.join('\n')}\n`, 'text/csv', dave.auth)
    expect(job).toMatchObject({ created: 1050, failed: 0 })
    const spy = observedCassandra(infra.cassandra, (q) => q.includes('FROM links_by_owner'))
    const watched = await startApp(infra, {}, { cassandra: spy.client })
    try {
      const csv = await exported(dave.auth, '', watched)
      const keys = csv.body.trim().split('\r\n').slice(1).map((l) => l.split(',')[0])
      expect(new Set(keys).size).toBe(1050)
      expect(keys).toHaveLength(1050)
      // Read a page at a time (100 a page): never the whole index at once.
      expect(spy.state.maxInFlight).toBe(1)
    } finally {
      await watched.close()
    }
  })

  it('round-trips: an export imported into another keyspace gives back the same links', async () => {
    const other = await createTestInfra('cs_import_rt')
    const there = await startApp(other)
    try {
      const erin = await newApiKey(other, 'user', 'erin')
      const csv = (await exported(alice.auth)).body
      const job = await imported(csv, 'text/csv', erin.auth, '', there)
      const total = csv.trim().split('\r\n').length - 1
      expect(job).toMatchObject({ status: 'completed', layout: 'shortwave', total, created: total, failed: 0 })
      const strip = (body: string) => body.trim().split('\n').map((l) => {
        const { createdAt: _c, clicks: _k, ...rest } = JSON.parse(l) as Record<string, unknown>
        return rest
      }).sort((a, b) => String(a['key']).localeCompare(String(b['key'])))
      const back = (await exported(erin.auth, '?format=ndjson', there)).body
      expect(strip(back)).toEqual(strip((await exported(alice.auth, '?format=ndjson')).body))
      // And into the same keyspace by its owner: every link is already there.
      const again = await imported(csv, 'text/csv', alice.auth)
      expect(again).toMatchObject({ created: 0, skipped: total, failed: 0 })
    } finally {
      await there.close()
      await other.close()
    }
  })
})

describe('jobs', () => {
  it('refuses a second import of one API key while the first runs (409)', async () => {
    const frank = await newApiKey(infra, 'user', 'frank')
    const rows = Array.from({ length: 3000 }, (_, i) => `https://example.com/lock/${i},fx-lock-${i}`)
    const first = await upload(`url,key\n${rows.join('\n')}\n`, 'text/csv', frank.auth)
    expect(first.statusCode).toBe(202)
    const second = await upload('url\nhttps://example.com/lock/x\n', 'text/csv', frank.auth)
    expect(second.statusCode).toBe(409)
    expect(second.json().code).toBe('SW_IMPORT_RUNNING')
    await finished(first.json().id as string, frank.auth)
    expect((await upload('url\nhttps://example.com/lock/x\n', 'text/csv', frank.auth)).statusCode).toBe(202)
  })

  it('marks a job interrupted when its replica shuts down mid-way, and a re-run finishes it', async () => {
    const grace = await newApiKey(infra, 'user', 'grace')
    const own = await startApp(infra)
    const rows = Array.from({ length: 3000 }, (_, i) => `https://example.com/stop/${i},fx-stop-${i}`)
    const body = `url,key\n${rows.join('\n')}\n`
    const response = await upload(body, 'text/csv', grace.auth, '', own)
    await own.close()
    const job = await finished(response.json().id as string, grace.auth)
    expect(job.status).toBe('interrupted')
    expect(job.done).toBeLessThan(3000)
    const rerun = await imported(body, 'text/csv', grace.auth)
    expect(rerun).toMatchObject({ status: 'completed', created: 3000 - (job.created as number), skipped: job.created, failed: 0 })
  })

  it('reads a running job nobody wrote for a lock\'s lifetime as interrupted', () => {
    const at = new Date('2026-12-06T03:00:00Z')
    const job: ImportJob = {
      id: 'imp_x',
      owner: 'o',
      layout: 'shortwave',
      status: 'running',
      total: 5,
      done: 1,
      created: 1,
      skipped: 0,
      failed: 0,
      createdAt: at,
      updatedAt: at,
      finishedAt: null
    }
    expect(jobView(job, at.getTime() + 30_000).status).toBe('running')
    expect(jobView(job, at.getTime() + 61_000).status).toBe('interrupted')
  })

  it('answers 503 with Retry-After when Cassandra is down', async () => {
    const spy = observedCassandra(infra.cassandra)
    const down = await startApp(infra, {}, { cassandra: spy.client })
    try {
      spy.state.down = true
      for (const response of [
        await down.inject({ method: 'GET', url: '/api/v1/imports/imp_000000000000000000000000', headers: alice.auth }),
        await upload('url\nhttps://example.com/down\n', 'text/csv', alice.auth, '', down),
        await exported(alice.auth, '', down)
      ]) {
        expect(response.statusCode).toBe(503)
        expect(response.headers['retry-after']).toBeDefined()
      }
    } finally {
      spy.state.down = false
      await down.close()
    }
  })
})
