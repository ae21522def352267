import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { loadConfig } from '@shortwave/common/config'
import { migrate } from '@shortwave/common/cassandra/migrate'
import { KEY_ALPHABET } from '@shortwave/common/keys'
import { matchesSearch, parseSearch } from '@shortwave/common/link-search'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { TEST_CASSANDRA, TEST_REDIS_URL } from '@shortwave/testing/infra'
import cassandra from 'cassandra-driver'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../../create-service/src/api-keys.ts'
import { buildApp as buildCreate } from '../../create-service/src/app.ts'
import { configSchema as createSchema } from '../../create-service/src/config.ts'
import { buildApp as buildRedirect } from '../../redirect-service/src/app.ts'
import { configSchema as redirectSchema } from '../../redirect-service/src/config.ts'

// The list's tables (migration 009) on a keyspace that holds 100,000 links made by today's schema
// (migrations 001-007 and their owner index, as today's create writes it): `npm run migrate`, the
// real CLI in a child process, adds the tables and backfills them while a redirect service serves
// a sample of the links without pause. No redirect may fail meanwhile; afterwards every link is
// listed by the new list queries and redirects. The timings are printed.

const LINKS = Number(process.env['SW_MIGRATION_LINKS'] ?? 100_000)
const OWNERS = 20
const BUCKETS = 1000
const SAMPLE = 500
const NAMESPACE = (process.env['SW_TEST_NAMESPACE'] ?? '').replace(/[^a-z0-9]/g, '').slice(0, 8)
const KEYSPACE = `t_${NAMESPACE}mig009`
const PREFIX = `t:mig009:${randomBytes(3).toString('hex')}:`

interface Seeded { key: string, url: string, owner: string, createdAt: Date, tags: string[], title: string | null }

const env: Record<string, string> = {
  CASSANDRA_CONTACT_POINTS: TEST_CASSANDRA,
  CASSANDRA_LOCAL_DC: 'datacenter1',
  CASSANDRA_KEYSPACE: KEYSPACE,
  CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
  REDIS_URL: TEST_REDIS_URL,
  REDIS_KEY_PREFIX: PREFIX,
  LOG_LEVEL: 'silent',
  PORT: '0',
  HOST: '127.0.0.1',
  PUBLIC_BASE_URL: 'http://sw.test',
  // Schema changes on a busy machine take longer than the default 2 s (createTestInfra waits 30 s too).
  CASSANDRA_TIMEOUT_MS: '30000',
  RATE_LIMIT_MAX: '1000000'
}
const cassandraConfig = {
  CASSANDRA_CONTACT_POINTS: TEST_CASSANDRA,
  CASSANDRA_LOCAL_DC: 'datacenter1',
  CASSANDRA_KEYSPACE: KEYSPACE,
  CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM' as const,
  CASSANDRA_SERIAL_CONSISTENCY: 'LOCAL_SERIAL' as const,
  CASSANDRA_TIMEOUT_MS: 30_000
}

let client: cassandra.Client
let redis: Redis
const timings: Record<string, number> = {}
const seconds = (from: number) => Number(((performance.now() - from) / 1000).toFixed(1))

/** Distinct 7-character keys over BUCKETS buckets (partitions), so inserts batch by partition. */
function keysFor (n: number): string[] {
  const pick = () => KEY_ALPHABET[Math.floor(Math.random() * KEY_ALPHABET.length)]!
  const buckets = new Set<string>()
  while (buckets.size < BUCKETS) buckets.add(pick() + pick() + pick())
  const bucketList = [...buckets]
  const keys = new Set<string>()
  while (keys.size < n) keys.add(bucketList[keys.size % BUCKETS]! + pick() + pick() + pick() + pick())
  return [...keys]
}

type Write<T> = (group: T[]) => Promise<unknown>

async function inBatches<T> (groups: T[][], concurrency: number, write: Write<T>): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < groups.length) await write(groups[next++]!)
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
}

function groupBy<T> (items: T[], keyOf: (item: T) => string, size: number): T[][] {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = keyOf(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  const chunks = (g: T[]) => {
    const out: T[][] = []
    for (let i = 0; i < g.length; i += size) out.push(g.slice(i, i + size))
    return out
  }
  return [...groups.values()].flatMap(chunks)
}

/** Writes the links as today's create does: the owner index entry, then the link row. */
async function seed (owners: string[]): Promise<Seeded[]> {
  const base = Date.now() - LINKS * 10
  const links = keysFor(LINKS).map((key, i) => ({
    key,
    url: `https://shop${i % 50}.example.com/catalogue/item${i}`,
    owner: owners[i % OWNERS]!,
    createdAt: new Date(base + i * 10),
    tags: i % 10 === 0 ? ['sale'] : [],
    title: i % 7 === 0 ? `Offer for customer${i}` : null
  }))
  const insertOwned = 'INSERT INTO links_by_owner (owner, created_at, key) VALUES (?, ?, ?)'
  const insertLink = 'INSERT INTO links (bucket, key, state, url, created_at, owner, title, tags, claimed_at, claimed_by) ' +
    'VALUES (?, ?, \'active\', ?, ?, ?, ?, ?, ?, \'create-service\')'
  const opts = { prepare: true, logged: false }
  await inBatches(groupBy(links, (l) => l.owner, 100), 16, (group) =>
    client.batch(group.map((l) => ({ query: insertOwned, params: [l.owner, l.createdAt, l.key] })), opts))
  await inBatches(groupBy(links, (l) => l.key.slice(0, 3), 100), 16, (group) =>
    client.batch(group.map((l) => ({
      query: insertLink,
      params: [
        l.key.slice(0, 3), l.key, l.url, l.createdAt, l.owner,
        l.title ?? undefined, l.tags.length ? l.tags : undefined, l.createdAt
      ]
    })), opts))
  // Clicks folded before the migration, for one link in a hundred: the backfill ranks them.
  const clicked = links.filter((_, i) => i % 100 === 0)
  const addClicks = 'UPDATE link_clicks_daily SET clicks = clicks + ?, bot_clicks = bot_clicks + 0 WHERE key = ? AND day = ?'
  const day = cassandra.types.LocalDate.fromDate(new Date())
  await inBatches(clicked.map((l) => [l]), 16, ([l]) =>
    client.execute(addClicks, [cassandra.types.Long.fromNumber(l!.createdAt.getTime() % 37 + 1), l!.key, day],
      { prepare: true }))
  return links
}

/** Runs `npm run migrate` on the keyspace, interrupted (SIGTERM) once a line matches `stopAt`; its output lines. */
function runMigrate (stopAt?: RegExp): Promise<{ code: number | null, signal: string | null, output: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'migrate'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the interruption reaches node under npm.
      detached: true
    })
    const output: string[] = []
    const collect = (chunk: Buffer) => {
      const lines = chunk.toString().split('\n').filter((l) => l.trim() !== '')
      output.push(...lines)
      if (stopAt !== undefined && lines.some((l) => stopAt.test(l))) process.kill(-child.pid!, 'SIGTERM')
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve({ code, signal, output }))
  })
}

describe(`npm run migrate on ${LINKS} links of today's schema, redirects served throughout`, () => {
  let redirect: FastifyInstance
  let create: FastifyInstance
  let redirectUrl: string
  let links: Seeded[]
  let owners: Array<{ id: string, auth: Record<string, string> }>

  beforeAll(async () => {
    const admin = createCassandraClient({ ...cassandraConfig }, { keyspace: null })
    await admin.connect()
    await admin.execute(`DROP KEYSPACE IF EXISTS ${KEYSPACE}`)
    await migrate(admin, { keyspace: KEYSPACE, replication: { class: 'SimpleStrategy', replication_factor: 1 }, until: '007-link-lifecycle' })
    await admin.shutdown()
    client = createCassandraClient(cassandraConfig)
    await client.connect()
    redis = createRedisClient({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: 1000 })
    redis.on('error', () => {})

    const keys = createApiKeyRepository(client)
    owners = await Promise.all(Array.from({ length: OWNERS }, async (_, i) => {
      const { key, secret } = await keys.create(`owner-${i}`, 'user')
      return { id: key.id, auth: { authorization: `Bearer ${secret}` } }
    }))
    const t0 = performance.now()
    links = await seed(owners.map((o) => o.id))
    timings['seed'] = seconds(t0)

    redirect = await buildRedirect(loadConfig(redirectSchema, env), { cassandra: client, redis, logger: false })
    redirectUrl = await redirect.listen({ host: '127.0.0.1', port: 0 })
  }, 600_000)

  afterAll(async () => {
    await redirect?.close()
    await create?.close()
    const leftovers = await redis?.keys(`${PREFIX}*`) ?? []
    // In slices: 100,000 links clicked leave as many visitor HyperLogLogs, too many arguments for one call.
    for (let i = 0; i < leftovers.length; i += 1000) await redis.del(...leftovers.slice(i, i + 1000))
    redis?.disconnect()
    await client?.execute(`DROP KEYSPACE IF EXISTS ${KEYSPACE}`).catch(() => {})
    await client?.shutdown()
    // Printed, not asserted: the figures of this run (README, "The list's migration").
    console.log(`link-list migration timings (s): ${JSON.stringify(timings)}`)
  }, 120_000)

  it('backfills the list tables online, resumably, and lists and redirects every link', async () => {
    const sample = links.filter((_, i) => i % Math.floor(LINKS / SAMPLE) === 0)
    const failures: string[] = []
    let served = 0
    const state = { migrating: true }
    // A sample of links GET continuously (first from Cassandra, then the cache), 4 at a time, each
    // lane pausing 5 ms between two: a steady few hundred a second, not a flood that would starve
    // the migration of the CPU it shares with this process.
    const load = Promise.all(Array.from({ length: 4 }, async (_, lane) => {
      for (let i = lane; state.migrating; i += 4) {
        await new Promise((resolve) => setTimeout(resolve, 5))
        const link = sample[i % sample.length]!
        try {
          const response = await fetch(`${redirectUrl}/${link.key}`, { redirect: 'manual' })
          await response.arrayBuffer()
          if (response.status !== 302 || response.headers.get('location') !== link.url) failures.push(`${link.key}: ${response.status}`)
        } catch (error) {
          failures.push(`${link.key}: ${(error as Error).message}`)
        }
        served++
      }
    }))

    // Interrupted a quarter of the way through, then run again: it resumes where it stopped.
    const t0 = performance.now()
    const interrupted = await runMigrate(/^009-link-list: range 16\/64 done/)
    timings['interruptedAfter'] = seconds(t0)
    expect(interrupted.code === 0 && interrupted.signal === null, interrupted.output.join('\n')).toBe(false)
    const t1 = performance.now()
    const run = await runMigrate()
    timings['resumedMigrate'] = seconds(t1)
    timings['migrateTotal'] = seconds(t0)
    state.migrating = false
    await load
    timings['redirectsDuringMigrate'] = served
    expect(run.code, run.output.join('\n')).toBe(0)
    const summary = (lines: string[]) => lines.filter((l) => !l.includes(': range ') || /range (16|32|48|64)\/64/.test(l))
    console.log([...summary(interrupted.output), '(interrupted)', ...summary(run.output)].join('\n'))
    expect(run.output).toEqual(expect.arrayContaining([expect.stringMatching(/^009-link-list: resuming, (1[6-9]|2\d) of 64 token ranges done/)]))
    // Together the two runs indexed every link (ranges in flight when interrupted are done again).
    const indexed = (lines: string[]) => lines.filter((l) => /^009-link-list: range/.test(l))
      .reduce((sum, l) => sum + Number(/done, (\d+) links/.exec(l)![1]), 0)
    expect(indexed(interrupted.output) + indexed(run.output)).toBe(LINKS)
    expect(failures).toEqual([])
    expect(served).toBeGreaterThan(0)

    // Run again: nothing left to do.
    const again = await runMigrate()
    expect(again.code).toBe(0)
    expect(again.output).toEqual(expect.arrayContaining(['009-link-list: already done', '009-link-list-clicks: already done']))

    // Every link listed, through the API, owner by owner, newest first as stored before.
    create = await buildCreate(loadConfig(createSchema, env), { cassandra: client, redis, logger: false })
    const t2 = performance.now()
    const listed = new Set<string>()
    await Promise.all(owners.map(async (owner) => {
      let cursor: string | null = null
      let previous = Infinity
      do {
        const url = `/api/v1/links?limit=100${cursor ? `&cursor=${cursor}` : ''}`
        const response = await create.inject({ method: 'GET', url, headers: owner.auth })
        expect(response.statusCode).toBe(200)
        const body = response.json() as { links: Array<{ key: string, createdAt: string }>, nextCursor: string | null }
        for (const link of body.links) {
          const at = Date.parse(link.createdAt)
          expect(at).toBeLessThanOrEqual(previous)
          previous = at
          listed.add(link.key)
        }
        cursor = body.nextCursor
      } while (cursor !== null)
    }))
    timings['listAll'] = seconds(t2)
    expect(listed.size).toBe(LINKS)

    // The other queries, on one owner: by tag, by words, by clicks.
    const owner = owners[0]!
    const own = links.filter((l) => l.owner === owner.id)
    const query = async (q: string, limit = 100) => {
      const response = await create.inject({ method: 'GET', url: `/api/v1/links?${q}&limit=${limit}`, headers: owner.auth })
      expect(response.statusCode, response.body).toBe(200)
      return response.json() as { links: Array<{ key: string, clicks?: number }>, nextCursor: string | null }
    }
    const tagged = own.filter((l) => l.tags.includes('sale'))
    expect((await query('tag=sale&order=asc')).links.map((l) => l.key)).toEqual(tagged.slice(0, 100).map((l) => l.key))
    // What q should find, by the rule itself (link-search.ts), newest first: the index must agree.
    const expected = (q: string) => own.filter((l) => matchesSearch(l, parseSearch(q)!)).reverse().map((l) => l.key)
    const target = own[Math.floor(own.length / 2)]!
    const word = target.url.split('/').at(-1)!
    expect((await query(`q=${word}`)).links.map((l) => l.key)).toEqual(expected(word))
    expect(expected(word)).toContain(target.key)
    const titled = own.filter((l) => l.title !== null).at(-3)!
    const title = encodeURIComponent(titled.title!)
    expect((await query(`q=${title}`)).links.map((l) => l.key)).toEqual(expected(titled.title!))
    expect(expected(titled.title!)).toContain(titled.key)
    const byClicks = await query('sort=clicks', 10)
    expect(byClicks.links[0]!.clicks).toBeGreaterThan(0)

    // Every link redirects: through the redirect service's own handling (inject: no sockets, which
    // on a shared machine cost more than the check), from Cassandra for all but the sample.
    const t3 = performance.now()
    const broken: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < links.length) {
        const link = links[next++]!
        const response = await redirect.inject({ method: 'GET', url: `/${link.key}` })
        if (response.statusCode !== 302 || response.headers['location'] !== link.url) broken.push(link.key)
      }
    }))
    timings['redirectAll'] = seconds(t3)
    expect(broken).toEqual([])
  }, 1_200_000)
})
