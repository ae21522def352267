// npm run test:cluster: three Cassandra nodes (scripts/cluster.sh, 127.0.0.11-13), a keyspace with
// replication factor 3, the services at LOCAL_QUORUM (their default) as separate processes behind
// a real nginx. One node is killed under steady traffic: no request may fail and no acknowledged
// link may be lost. Then it comes back and must catch up (hints, then repair), proven by reading
// every link from it alone, with the two other nodes gone. Before that, the stack's Redis fails
// over: a replica started with --replicaof is promoted while the primary is killed, and no key may
// be answered 201 twice. Figures: reports/cluster.json.
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { createRedisClient } from '@shortwave/common/plugins/redis'
import cassandra from 'cassandra-driver'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inParallel } from '../helpers/stack.ts'
import { freePort } from '../nginx/edge.ts'
import { formatTable, runPhase, writeReport, type PhaseRecord } from '../faults/harness/phases.ts'
import { cassandraNodes, redisServer, ROOT, sleep } from '../faults/harness/processes.ts'
import { dropLinkCache } from '../faults/harness/redis-rollback.ts'
import type { ClusterReport, FailoverFigures } from '../faults/harness/reliability-doc.ts'
import { cassandraConfig, freshKeyspace, startProcessStack, type ProcessStack } from '../faults/harness/stack.ts'
import { startTcpProxy, type TcpProxy } from '../faults/harness/tcp-proxy.ts'
import { createBurst, startTraffic, type Burst, type Traffic } from '../faults/harness/traffic.ts'
import { verifyAcknowledged, verifyAroundFault, type Verification } from '../faults/harness/verify.ts'

const KEYSPACE = 'c_cluster'
const LOG_DIR = join(ROOT, '.run', 'cluster', 'logs')
const VICTIM = 2
const OUTAGE_MS = 20_000
const REDIS_PREFIX = 'f:'
/** Creates on each side of the Redis failover. */
const FAILOVER_BURST = 500

const nodes = cassandraNodes('cluster')
let contactPoints: string
let redis: ReturnType<typeof redisServer>
let replica: ReturnType<typeof redisServer> | undefined
/** The services' Redis endpoint: the primary, and after the failover the promoted replica. */
let redisEndpoint: TcpProxy
let failover: { record: PhaseRecord, figures: FailoverFigures } | undefined
let db: cassandra.Client
let stack: ProcessStack
let traffic: Traffic

beforeAll(async () => {
  await nodes.up()
  contactPoints = await nodes.contactPoints()
  db = await freshKeyspace(contactPoints, KEYSPACE, 'SimpleStrategy:3')
  redis = redisServer(await freePort(), LOG_DIR)
  await redis.start()
  redisEndpoint = await startTcpProxy(redis.port)
  stack = await startProcessStack({
    contactPoints,
    keyspace: KEYSPACE,
    replication: 'SimpleStrategy:3',
    redisUrl: redisEndpoint.url('redis'),
    logDir: LOG_DIR,
    createReplicas: 1,
    redirectReplicas: 2,
    env: {
      CASSANDRA_CONSISTENCY: 'LOCAL_QUORUM',
      // Redirects should reach Cassandra, not only the caches: reads at LOCAL_QUORUM are under test too.
      LOCAL_CACHE_TTL_MS: '0',
      REDIS_CACHE_TTL_SECONDS: '1'
    }
  })
}, 600_000)

afterAll(async () => {
  await traffic?.stop()
  await stack?.close()
  await redisEndpoint?.close()
  await redis?.crash()
  await replica?.crash()
  await db?.shutdown()
}, 120_000)

const systemLog = (node: number): string => join(ROOT, '.run', 'cluster', `node${node}`, 'logs', 'system.log')
const logSize = (node: number): number => statSync(systemLog(node), { throwIfNoEntry: false })?.size ?? 0
/** What a node logged since `offset` (bytes). */
const loggedSince = (node: number, offset: number): string => readFileSync(systemLog(node)).subarray(offset).toString('utf8')
const addressOf = (node: number): string => `127.0.0.${10 + node}`

/** Runs nodetool against a node until `done` accepts its output; returns how long that took. */
async function nodetoolUntil (
  node: number,
  args: string[],
  done: (output: string) => boolean,
  timeoutMs: number
): Promise<{ ms: number, output: string }> {
  const started = Date.now()
  for (;;) {
    const output = await nodes.nodetool(node, ...args)
    if (done(output)) return { ms: Date.now() - started, output }
    if (Date.now() - started > timeoutMs) throw new Error(`nodetool ${args.join(' ')} on node${node} did not settle in ${timeoutMs} ms:\n${output}`)
    await sleep(3000)
  }
}

/** A field of INFO replication as a number. */
async function replicationField (client: ReturnType<typeof createRedisClient>, field: string): Promise<number> {
  const info = await client.info('replication')
  return Number(new RegExp(`^${field}:(\\S+)`, 'm').exec(info)?.[1] ?? NaN)
}

// Invariant 1 across a real Redis failover: whatever the promoted replica had not yet received
// (keys already handed out, still pooled on the replica) must not make a key a link twice.
describe('the Redis primary lost and its replica promoted under load', () => {
  it('answers no key 201 twice and keeps every link across the failover', async () => {
    const primary = redis
    // The replica follows the primary through a link the test can stall, so that it is behind when
    // the primary dies: what a failover to a lagging replica loses.
    const replicationLink = await startTcpProxy(primary.port)
    replica = redisServer(await freePort(), LOG_DIR, { name: 'redis-replica', replicaOf: replicationLink.port })
    await replica.start()
    const client = (url: string) => {
      const c = createRedisClient({ REDIS_URL: url, REDIS_KEY_PREFIX: REDIS_PREFIX, REDIS_TIMEOUT_MS: 2000 })
      c.on('error', () => {})
      return c
    }
    const primaryClient = client(primary.url)
    const replicaClient = client(replica.url)
    try {
      await Promise.all([primaryClient.connect(), replicaClient.connect()])
      const synced = Date.now() + 30_000
      while (await replicaClient.info('replication').then((info) => !info.includes('master_link_status:up'), () => true)) {
        if (Date.now() > synced) throw new Error('the replica did not sync with the primary')
        await sleep(200)
      }
      const runId = randomBytes(4).toString('hex')
      const load = startTraffic({ baseUrl: stack.edge.url, runId })
      const burst = (label: string) => createBurst({
        baseUrl: stack.edge.url, runId, label, count: FAILOVER_BURST, concurrency: 8
      })
      let before!: Burst
      let after!: Burst
      let lagBytes = 0
      let promoteMs = 0
      let failedOverAt = 0
      const record = await runPhase(load, {
        name: 'redis-failover',
        fault: `Redis replication stalled during ${FAILOVER_BURST} creates, the primary SIGKILLed, its replica promoted (REPLICAOF NO ONE) and the services' Redis endpoint pointed at it`,
        // Redis down: a create may fail cleanly (invariant 4), while its connections are dropped.
        allowed: { create: ['503'] },
        async inject () {
          replicationLink.holdReplies()
          before = await burst('before')
          const primaryOffset = await replicationField(primaryClient, 'master_repl_offset')
          await primary.crash()
          const killedAt = Date.now()
          lagBytes = Math.max(0, primaryOffset - await replicationField(replicaClient, 'master_repl_offset'))
          await replicaClient.replicaof('NO', 'ONE')
          promoteMs = Date.now() - killedAt
        },
        holdMs: 0,
        async heal () {
          redisEndpoint.retarget(replica!.port)
          failedOverAt = Date.now()
        },
        afterHeal: async () => {
          after = await burst('after')
          return { lagBytes }
        }
      })
      await load.stop()
      redis = replica

      // What Cassandra holds, not what a cache still remembers.
      await dropLinkCache(replicaClient, REDIS_PREFIX)
      await sleep(1500)
      const { verification: check, figures } = await verifyAroundFault({
        before, after, steady: load.acks, faultAt: failedOverAt
      }, stack.edge.url)
      failover = { record, figures: { lagBytes, promoteMs, ...figures } }
      console.log(`\n${formatTable([record])}\n\nRedis failover: ${JSON.stringify({ ...failover.figures, check: { ...failover.figures.check, failures: check.failures.length } })}\n`)

      expect(check.duplicateKeys).toEqual([])
      expect(check.failures).toEqual([])
      expect(failover.figures.earlier.intact).toBe(failover.figures.earlier.links)
      expect({ before: before.byStatus, after: after.byStatus })
        .toEqual({ before: { 201: FAILOVER_BURST }, after: { 201: FAILOVER_BURST } })
      expect(load.violations).toEqual([])
      expect({ unexpected: record.unexpected, recovered: record.recovered })
        .toEqual({ unexpected: {}, recovered: true })
    } finally {
      primaryClient.disconnect()
      replicaClient.disconnect()
      await replicationLink.close()
    }
  }, 600_000)
})

describe('one node of three lost under load (RF 3, LOCAL_QUORUM)', () => {
  const records: PhaseRecord[] = []
  const catchUp: Record<string, unknown> = {}
  let verification: Verification

  it('fails no request and loses no link while a node is down, and the node catches up', async () => {
    const others = [1, 2, 3].filter((n) => n !== VICTIM)
    const offsets = Object.fromEntries([1, 2, 3].map((n) => [n, logSize(n)]))
    traffic = startTraffic({ baseUrl: stack.edge.url, runId: randomBytes(4).toString('hex') })
    records.push(await runPhase(traffic, { name: 'baseline', fault: 'none', inject: async () => {}, holdMs: 3000, heal: async () => {} }))
    records.push(await runPhase(traffic, {
      name: 'node-kill',
      fault: `node${VICTIM} SIGKILL under load, restarted after ${OUTAGE_MS / 1000} s`,
      inject: async () => { await nodes.kill(VICTIM) },
      holdMs: OUTAGE_MS,
      heal: async () => { await nodes.start(VICTIM) }
    }))
    records.push(await runPhase(traffic, { name: 'after', fault: 'none (node back)', inject: async () => {}, holdMs: 3000, heal: async () => {} }))
    await traffic.stop()
    verification = await verifyAcknowledged(traffic.acks, { edgeUrl: stack.edge.url, cassandra: db })
    console.log(`\n${formatTable(records)}\n\nacknowledged ${verification.acknowledged}, stored ${verification.stored}, ` +
      `redirected ${verification.redirected}, duplicate keys ${verification.duplicateKeys.length}\n`)

    // Catching up: the two live nodes kept hints for the dead one and hand them over now.
    const drained = await Promise.all(others.map((n) => nodetoolUntil(n, ['listpendinghints'], (out) => /does not have any pending hints/.test(out), 180_000)))
    catchUp['hintsDrainedMs'] = Math.max(...drained.map((d) => d.ms))
    const handoff = new RegExp(`Finished hinted handoff of file \\S+ to endpoint /${addressOf(VICTIM).replaceAll('.', '\\.')}:`, 'g')
    catchUp['hintFilesDelivered'] = others.reduce((sum, n) => sum + (loggedSince(n, offsets[n]!).match(handoff)?.length ?? 0), 0)
    const preview = await nodes.nodetool(VICTIM, 'repair', '--preview', '--full', KEYSPACE)
    // Before the repair: did the hints alone bring the node back in sync with the others?
    catchUp['beforeRepair'] = /Previewed data was in sync/.test(preview) ? 'in sync' : (/Total estimated streaming: .*/.exec(preview)?.[0] ?? preview.trim())
    const repairStarted = Date.now()
    const repair = await nodes.nodetool(VICTIM, 'repair', '--full', KEYSPACE)
    catchUp['repairMs'] = Date.now() - repairStarted
    catchUp['repairResult'] = /Repair completed successfully/.exec(repair)?.[0] ?? repair.trim().split('\n').at(-1)

    // The proof: the two other nodes gone, every acknowledged link read from the victim alone.
    const victimLog = logSize(VICTIM)
    for (const n of others) await nodes.kill(n)
    // Until the victim's failure detector convicts them, it would still send reads their way.
    const deadline = Date.now() + 60_000
    while (!others.every((n) => loggedSince(VICTIM, victimLog).includes(`InetAddress /${addressOf(n)}:17000 is now DOWN`))) {
      if (Date.now() > deadline) throw new Error(`node${VICTIM} did not see the other nodes go down`)
      await sleep(500)
    }
    const alone = createCassandraClient(cassandraConfig(`${addressOf(VICTIM)}:19042`, KEYSPACE))
    await alone.connect()
    let onVictim = 0
    const missing: string[] = []
    try {
      await inParallel(traffic.acks, 16, async (ack) => {
        const result = await alone.execute('SELECT url FROM links WHERE bucket = ? AND key = ?', [ack.key.slice(0, 3), ack.key], { prepare: true, consistency: cassandra.types.consistencies.one })
        if (result.first()?.['url'] === ack.url) onVictim++
        else missing.push(ack.key)
      })
    } finally {
      await alone.shutdown()
    }
    catchUp['linksOnVictimAlone'] = onVictim
    catchUp['linksAcknowledgedInKillPhase'] = traffic.acks.filter((a) => a.phase === 'node-kill').length

    const report: ClusterReport = {
      suite: 'cluster',
      finishedAt: new Date().toISOString(),
      settings: { nodes: 3, replication: 'SimpleStrategy:3', consistency: 'LOCAL_QUORUM', victim: `node${VICTIM}`, outageMs: OUTAGE_MS },
      phases: [...(failover ? [failover.record] : []), ...records],
      verification: { ...verification, failures: verification.failures.slice(0, 20) },
      catchUp: { ...catchUp, missingOnVictim: missing.slice(0, 20) },
      violations: traffic.violations.slice(0, 20),
      ...(failover ? { redisFailover: failover.figures } : {})
    }
    const file = writeReport('cluster', report)
    console.log(`catch-up: ${JSON.stringify(catchUp)}; written to ${file}\n`)

    for (const record of records) {
      expect({ phase: record.name, failed: record.create.failed + record.redirect.failed, recovered: record.recovered })
        .toEqual({ phase: record.name, failed: 0, recovered: true })
    }
    expect(traffic.violations).toEqual([])
    expect(verification.failures).toEqual([])
    expect(verification.duplicateKeys).toEqual([])
    expect(verification.stored).toBe(verification.acknowledged)
    expect(missing).toEqual([])
    expect(onVictim).toBe(traffic.acks.length)
  }, 900_000)
})
