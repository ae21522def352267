// npm run test:faults: the stack as separate processes behind a real nginx, on a Cassandra node
// and a Redis of the suite's own, under steady traffic (creates and redirects) while one part at
// a time is killed, paused or stopped. What users saw is recorded per fault and written to
// reports/faults.json; at the end every acknowledged link must be stored and must redirect.
import { createKeyPool } from '@shortwave/common/key-pool'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import { redisKeys } from '@shortwave/common/redis-keys'
import type cassandra from 'cassandra-driver'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../nginx/edge.ts'
import { formatTable, runPhase, writeReport, type FaultPhase, type PhaseRecord } from './harness/phases.ts'
import { cassandraNodes, redisServer, ROOT, sleep, type Exit, type Managed } from './harness/processes.ts'
import { dropLinkCache, restoreState, snapshotState, type RedisSnapshot } from './harness/redis-rollback.ts'
import type { FaultsReport, RollbackFigures } from './harness/reliability-doc.ts'
import { freshKeyspace, startProcessStack, type ProcessStack } from './harness/stack.ts'
import { createBurst, startTraffic, type Burst, type Traffic } from './harness/traffic.ts'
import { verifyAcknowledged, verifyAroundFault, type Verification } from './harness/verify.ts'

const KEYSPACE = 'f_load'
const LOG_DIR = join(ROOT, '.run', 'faults', 'logs')
const POOL_LOW_WATER = 300
const REDIS_TIMEOUT_MS = 250
const CASSANDRA_TIMEOUT_MS = 2000
const REDIS_PREFIX = 'f:'
/** Creates on each side of the Redis rollback. */
const ROLLBACK_BURST = 1000

const nodes = cassandraNodes('faults')
let redis: ReturnType<typeof redisServer>
let redisClient: Redis
let db: cassandra.Client
let stack: ProcessStack
let traffic: Traffic

beforeAll(async () => {
  await nodes.up()
  const contactPoints = await nodes.contactPoints()
  db = await freshKeyspace(contactPoints, KEYSPACE, 'SimpleStrategy:1')
  redis = redisServer(await freePort(), LOG_DIR)
  await redis.start()
  redisClient = createRedisClient({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'f:', REDIS_TIMEOUT_MS: 1000 })
  redisClient.on('error', () => {})
  stack = await startProcessStack({
    contactPoints,
    keyspace: KEYSPACE,
    replication: 'SimpleStrategy:1',
    redisUrl: redis.url,
    logDir: LOG_DIR,
    env: { REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS), CASSANDRA_TIMEOUT_MS: String(CASSANDRA_TIMEOUT_MS) }
  })
  await poolFilled()
}, 300_000)

afterAll(async () => {
  await traffic?.stop()
  redis?.signal('SIGCONT')
  await nodes.resume(1).catch(() => {})
  await stack?.close()
  redisClient?.disconnect()
  await redis?.crash()
  await db?.shutdown()
}, 120_000)

// The key-worker's CLAIM_BATCH_SIZE (its default): each pool chunk holds that many keys.
const CHUNK_SIZE = 100

async function poolDepth (): Promise<number> {
  return createKeyPool(redisClient, redisKeys('f:')).depth(CHUNK_SIZE).catch(() => -1)
}

/** Resolves with how long the key-worker took to fill the pool to its low-water mark again. */
async function poolFilled (timeoutMs = 60_000): Promise<number> {
  const started = Date.now()
  while (await poolDepth() < POOL_LOW_WATER) {
    if (Date.now() - started > timeoutMs) throw new Error(`the key pool did not refill to ${POOL_LOW_WATER} within ${timeoutMs} ms`)
    await sleep(100)
  }
  return Date.now() - started
}

async function seesRedis (port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
    const body = await response.json() as { checks?: Record<string, string> }
    return body.checks?.['redis'] === 'up'
  } catch {
    return false
  }
}

/** Resolves once every create-service replica's own Redis client answers again (its /readyz). */
async function createReplicasSeeRedis (timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  for (const replica of stack.creates) {
    while (!await seesRedis(replica.port)) {
      if (Date.now() - started > timeoutMs) throw new Error(`${replica.name} did not reconnect to Redis within ${timeoutMs} ms`)
      await sleep(100)
    }
  }
}

const exits: Record<string, Exit & { ms: number }> = {}

/** A graceful stop under load: SIGTERM, wait for the exit (recording its code and time), start again. */
function gracefulRestart (target: () => Managed): Pick<FaultPhase, 'inject' | 'heal'> {
  return {
    async inject () {
      const began = Date.now()
      const exit = await target().stop()
      exits[target().name] = { ...exit, ms: Date.now() - began }
    },
    heal: () => target().start()
  }
}

function crashRestart (target: () => Managed): Pick<FaultPhase, 'inject' | 'heal'> {
  return { inject: async () => { await target().crash() }, heal: () => target().start() }
}

function phases (): FaultPhase[] {
  return [
    { name: 'baseline', fault: 'none', inject: async () => {}, holdMs: 3000, heal: async () => {} },
    {
      name: 'redis-kill',
      fault: 'Redis SIGKILL, restarted empty after 5 s',
      async inject () {
        traffic.cacheTrusted = false
        await redis.crash()
      },
      holdMs: 5000,
      async heal () {
        await redis.start()
        traffic.forgetCache()
        // A create is written through to Redis only once its replica has reconnected, which can be
        // a moment after Redis is up: links acknowledged before that are not cached.
        await createReplicasSeeRedis()
        traffic.cacheTrusted = true
      },
      afterHeal: async () => ({ poolRefillMs: await poolFilled() })
    },
    {
      name: 'redis-pause',
      fault: 'Redis SIGSTOP for 5 s, then SIGCONT',
      latencyBoundMs: 3000,
      async inject () {
        traffic.cacheTrusted = false
        redis.signal('SIGSTOP')
      },
      holdMs: 5000,
      async heal () {
        redis.signal('SIGCONT')
        traffic.cacheTrusted = true
      }
    },
    { name: 'key-worker-kill', fault: 'key-worker SIGKILL, restarted after 2 s', ...crashRestart(() => stack.keyWorker), holdMs: 2000 },
    {
      name: 'create-kill',
      fault: 'create-service replica 1 of 2 SIGKILL, restarted after 2 s',
      // Requests it was answering die with it; nginx never re-sends a POST an upstream received.
      allowed: { create: ['502'] },
      ...crashRestart(() => stack.creates[0]!),
      holdMs: 2000
    },
    { name: 'redirect-kill', fault: 'redirect-service replica 1 of 2 SIGKILL, restarted after 2 s', ...crashRestart(() => stack.redirects[0]!), holdMs: 2000 },
    { name: 'create-term', fault: 'create-service replica 2 of 2 SIGTERM (drain), restarted', ...gracefulRestart(() => stack.creates[1]!), holdMs: 1000 },
    { name: 'redirect-term', fault: 'redirect-service replica 2 of 2 SIGTERM (drain), restarted', ...gracefulRestart(() => stack.redirects[1]!), holdMs: 1000 },
    { name: 'key-worker-term', fault: 'key-worker SIGTERM (drain), restarted', ...gracefulRestart(() => stack.keyWorker), holdMs: 1000 },
    {
      name: 'cassandra-pause',
      fault: 'Cassandra SIGSTOP for 5 s, then SIGCONT',
      allowed: { create: ['503'] },
      latencyBoundMs: 3 * CASSANDRA_TIMEOUT_MS,
      async inject () {
        traffic.cachedOnly = true
        await nodes.pause(1)
      },
      holdMs: 5000,
      async heal () {
        await nodes.resume(1)
      }
    },
    {
      name: 'cassandra-kill',
      fault: 'Cassandra SIGKILL, restarted after 3 s',
      allowed: { create: ['503'] },
      async inject () {
        traffic.cachedOnly = true
        await nodes.kill(1)
      },
      holdMs: 3000,
      heal: () => nodes.start(1).then(() => {})
    }
  ]
}

describe('faults under load', () => {
  const records: PhaseRecord[] = []
  let verification: Verification
  let report: FaultsReport

  it('keeps every acknowledged link and answers only what the contract allows, fault after fault', async () => {
    traffic = startTraffic({ baseUrl: stack.edge.url, runId: randomBytes(4).toString('hex') })
    for (const phase of phases()) {
      records.push(await runPhase(traffic, phase))
      // Cached redirects were the point of the Cassandra phases; back to every link.
      traffic.cachedOnly = false
    }
    await traffic.stop()

    // Invariant 2: every 201 is in Cassandra and redirects, even after Redis lost everything.
    await redisClient.flushall()
    await sleep(3500) // the redirect replicas' in-process cache (LOCAL_CACHE_TTL_MS, 3 s)
    verification = await verifyAcknowledged(traffic.acks, { edgeUrl: stack.edge.url, cassandra: db })

    const all = traffic.samples
    report = {
      suite: 'faults',
      finishedAt: new Date().toISOString(),
      settings: {
        redisTimeoutMs: REDIS_TIMEOUT_MS,
        cassandraTimeoutMs: CASSANDRA_TIMEOUT_MS,
        createReplicas: 2,
        redirectReplicas: 2
      },
      totals: {
        requests: all.length,
        status500: all.filter((s) => s.outcome === '500').length,
        violations: traffic.violations.length
      },
      phases: records,
      gracefulExits: exits,
      verification: { ...verification, failures: verification.failures.slice(0, 20) },
      violations: traffic.violations.slice(0, 20)
    }
    const file = writeReport('faults', report)
    console.log(`\n${formatTable(records)}\n\nacknowledged ${verification.acknowledged}, stored ${verification.stored}, ` +
      `redirected ${verification.redirected}, duplicate keys ${verification.duplicateKeys.length}; written to ${file}\n`)

    expect(traffic.violations).toEqual([])
    expect(report.totals.status500).toBe(0)
    expect(verification.duplicateKeys).toEqual([])
    expect(verification.failures).toEqual([])
    expect(verification.stored).toBe(verification.acknowledged)
    expect(verification.redirected).toBe(verification.acknowledged)
    for (const record of records) {
      const { unexpected, recovered, missingRetryAfter } = record
      expect({ phase: record.name, unexpected, recovered, missingRetryAfter })
        .toEqual({ phase: record.name, unexpected: {}, recovered: true, missingRetryAfter: 0 })
      if (record.latencyBoundMs !== null) {
        const slowest = Math.max(record.create.maxMs, record.redirect.maxMs)
        expect({ phase: record.name, slowest: slowest <= record.latencyBoundMs })
          .toEqual({ phase: record.name, slowest: true })
      }
    }
    for (const [name, exit] of Object.entries(exits)) expect({ name, code: exit.code }).toEqual({ name, code: 0 })
  }, 900_000)

  it('finishes requests that are in flight when create-service gets SIGTERM', async () => {
    const target = stack.creates[0]!
    // Each request has sent its headers and half its body: in flight, not idle.
    const bodies = Array.from({ length: 5 }, (_, i) => JSON.stringify({ url: `https://example.com/in-flight/${i}` }))
    const pending = bodies.map((body) => halfSentRequest(target.port, body))
    const opened = await Promise.all(pending.map((p) => p.opened))
    const stopping = target.stop()
    await sleep(300)
    for (const finish of opened) finish()
    const answers = await Promise.all(pending.map((p) => p.response))
    const exit = await stopping
    await target.start()
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 201))
    expect(exit.code).toBe(0)
    for (const [i, answer] of answers.entries()) {
      const key = (JSON.parse(answer.body) as { key: string }).key
      const response = await fetch(`${stack.edge.url}/${key}`, { redirect: 'manual' })
      expect(response.headers.get('location')).toBe(`https://example.com/in-flight/${i}`)
    }
  }, 120_000)

  // Invariant 1: whatever Redis forgets, replays or rolls back, a key becomes a link at most once.
  // Black-box: the test knows the key prefix and the link cache's key names, not how the pool is kept.
  it('answers no key 201 twice and keeps every earlier link when Redis rolls back to an older state, under load', async () => {
    const runId = randomBytes(4).toString('hex')
    const load = startTraffic({ baseUrl: stack.edge.url, runId })
    const burst = (label: string) => createBurst({
      baseUrl: stack.edge.url, runId, label, count: ROLLBACK_BURST, concurrency: 8
    })
    let snapshot!: RedisSnapshot
    let before!: Burst
    let after!: Burst
    let restore!: RollbackFigures['restore']
    let restoredAt = 0
    const record = await runPhase(load, {
      name: 'redis-rollback',
      fault: `Redis state (every key but the link cache) DUMPed, ${ROLLBACK_BURST} creates, then RESTOREd`,
      async inject () {
        snapshot = await snapshotState(redisClient, REDIS_PREFIX)
        before = await burst('before')
      },
      holdMs: 0,
      async heal () {
        const began = Date.now()
        restore = { ...await restoreState(redisClient, REDIS_PREFIX, snapshot), ms: Date.now() - began }
        restoredAt = Date.now()
      },
      afterHeal: async () => {
        after = await burst('after')
        return { snapshotKeys: snapshot.entries.length }
      }
    })
    await load.stop()
    records.push(record)

    // What Cassandra holds, not what a cache still remembers.
    await dropLinkCache(redisClient, REDIS_PREFIX)
    await sleep(3500) // the redirect replicas' in-process cache (LOCAL_CACHE_TTL_MS, 3 s)
    const { verification: check, figures } = await verifyAroundFault({
      before, after, steady: load.acks, faultAt: restoredAt
    }, stack.edge.url)
    const rollback: RollbackFigures = { snapshotKeys: snapshot.entries.length, restore, ...figures }
    report = { ...report, phases: records, redisRollback: rollback }
    const file = writeReport('faults', report)
    console.log(`\n${formatTable([record])}\n\nRedis rollback: ${JSON.stringify({ ...rollback, check: { ...rollback.check, failures: rollback.check.failures.length } })}; written to ${file}\n`)

    expect(check.duplicateKeys).toEqual([])
    expect(check.failures).toEqual([])
    expect(rollback.earlier.intact).toBe(rollback.earlier.links)
    expect({ before: before.byStatus, after: after.byStatus })
      .toEqual({ before: { 201: ROLLBACK_BURST }, after: { 201: ROLLBACK_BURST } })
    expect(load.violations).toEqual([])
    expect({ unexpected: record.unexpected, recovered: record.recovered }).toEqual({ unexpected: {}, recovered: true })
  }, 600_000)
})

/** A POST whose body is held back half-way until `opened` resolves and its function is called. */
function halfSentRequest (
  port: number,
  body: string
): { opened: Promise<() => void>, response: Promise<{ status: number, body: string }> } {
  let openedResolve!: (finish: () => void) => void
  const opened = new Promise<() => void>((resolve) => { openedResolve = resolve })
  const response = new Promise<{ status: number, body: string }>((resolve, reject) => {
    const half = Math.floor(body.length / 2)
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /api/v1/links HTTP/1.1\r\nHost: sw.test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`)
      setTimeout(() => openedResolve(() => socket.write(body.slice(half))), 100)
    })
    let raw = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => { raw += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0)
      resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) })
    })
  })
  return { opened, response }
}
