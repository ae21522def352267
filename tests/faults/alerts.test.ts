// The fault suite meets the alerts (issue 16): the services as separate processes behind nginx, on
// the suite's Cassandra node and a Redis of their own, scraped every second by a real Prometheus
// that evaluates the rules of observability/rules/ as they are shipped. Steady creates while
// Cassandra answers keep the create-availability page alert's expression false; Cassandra killed
// makes it true, asked of Prometheus's own query API, well within the alert's 5-minute short window.
import type cassandra from 'cassandra-driver'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { freePort } from '../nginx/edge.ts'
import { cassandraNodes, prometheusServer, redisServer, ROOT, sleep, type Managed } from './harness/processes.ts'
import { freshKeyspace, startProcessStack, type ProcessStack } from './harness/stack.ts'
import { figuresOf, startTraffic, type Traffic } from './harness/traffic.ts'

const KEYSPACE = 'f_alerts'
const RUN = join(ROOT, '.run', 'faults', 'alerts')
const LOG_DIR = join(ROOT, '.run', 'faults', 'logs')
const RULES = join(ROOT, 'observability', 'rules')
const ALERT = 'ShortwaveCreateAvailabilityBudgetBurn'

interface Rule { alert?: string, expr: string, labels?: Record<string, string> }
const pageRule = readdirSync(RULES).filter((f) => f.endsWith('.yml'))
  .flatMap((file) => (parse(readFileSync(join(RULES, file), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules))
  .find((rule) => rule.alert === ALERT && rule.labels?.['severity'] === 'page')

const nodes = cassandraNodes('faults')
let db: cassandra.Client
let redis: Managed
let stack: ProcessStack
let prometheus: Managed & { url: string }
let traffic: Traffic | undefined

interface Sample { metric: Record<string, string>, value: [number, string] }
async function query (expr: string): Promise<Sample[]> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`)
  expect(response.status).toBe(200)
  return ((await response.json()) as { data: { result: Sample[] } }).data.result
}

beforeAll(async () => {
  await nodes.up()
  const contactPoints = await nodes.contactPoints()
  db = await freshKeyspace(contactPoints, KEYSPACE, 'SimpleStrategy:1')
  const redisPort = await freePort()
  redis = redisServer(redisPort, LOG_DIR)
  await redis.start()
  stack = await startProcessStack({
    contactPoints, keyspace: KEYSPACE, replication: 'SimpleStrategy:1', redisUrl: `redis://127.0.0.1:${redisPort}`, logDir: LOG_DIR, createReplicas: 1, redirectReplicas: 1
  })
  rmSync(RUN, { recursive: true, force: true })
  mkdirSync(join(RUN, 'data'), { recursive: true })
  // Every second, so the windows fill in seconds; the rule files exactly as shipped.
  writeFileSync(join(RUN, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [${JSON.stringify(join(RULES, '*.yml'))}]`,
    'scrape_configs:',
    '  - job_name: shortwave',
    `    static_configs: [{ targets: [${stack.services.map((s) => `"127.0.0.1:${s.port}"`).join(', ')}] }]`
  ].join('\n'))
  prometheus = prometheusServer(await freePort(), LOG_DIR, { config: join(RUN, 'prometheus.yml'), data: join(RUN, 'data') })
  await prometheus.start()
}, 300_000)

afterAll(async () => {
  await traffic?.stop()
  await nodes.start(1).catch(() => {})
  await prometheus?.stop()
  await stack?.close()
  await redis?.crash()
  await db?.shutdown()
}, 180_000)

describe('Cassandra down, seen by the alerts', () => {
  it('keeps the create-availability page alert quiet while creates succeed, and makes it true within its window once Cassandra is down', async () => {
    expect(pageRule?.expr).toContain('create-availability')
    // Creates only, one lane about 20 a second, through nginx.
    traffic = startTraffic({ baseUrl: stack.edge.url, runId: 'alerts', createLanes: 1, redirectLanes: 0, createIntervalMs: 50 })
    const answers = () => figuresOf(traffic!.samples, 'create').byStatus

    // Healthy: Prometheus has seen creates succeed for a while, and the page expression is false.
    const healthyUntil = Date.now() + 60_000
    for (;;) {
      const rate = await query('sum(rate(http_request_duration_seconds_count{service="create-service", route="/api/v1/links", status_code="201"}[15s]))')
      if (Number(rate[0]?.value[1] ?? 0) > 5) break
      if (Date.now() > healthyUntil) throw new Error('Prometheus saw no steady creates within 60 s')
      await sleep(1000)
    }
    await sleep(5000)
    expect(await query(pageRule!.expr)).toEqual([])
    expect(answers()['201']).toBeGreaterThan(100)

    // Down: the expression becomes true, and the alert pending (its `for` is 2 minutes).
    await nodes.kill(1)
    const downAt = Date.now()
    let trueAfterMs = -1
    while (Date.now() - downAt < 5 * 60_000) {
      if ((await query(pageRule!.expr)).length > 0) {
        trueAfterMs = Date.now() - downAt
        break
      }
      await sleep(1000)
    }
    // The alert itself is pending from the rule group's next evaluation (every second here).
    let pending: Sample[] = []
    for (let tries = trueAfterMs >= 0 ? 0 : 15; tries < 15; tries++) {
      pending = await query(`ALERTS{alertname="${ALERT}", severity="page"}`)
      if (pending.length > 0) break
      await sleep(1000)
    }
    await traffic.stop()
    console.log(`creates: ${JSON.stringify(answers())}; the page expression was true ${(trueAfterMs / 1000).toFixed(0)} s after Cassandra was killed; ALERTS: ${pending.map((s) => s.metric['alertstate']).join(', ')}`)
    expect(answers()['503']).toBeGreaterThan(0)
    expect(trueAfterMs).toBeGreaterThanOrEqual(0)
    expect(pending.map((s) => s.metric['alertstate'])).toContain('pending')
  }, 600_000)
})
