// `npm start -- --detach --observe` as a person runs it: the whole local stack plus the observability
// stack (scripts/observe.sh), then Prometheus's and Jaeger's own APIs asked what a person would look
// at. Whatever this file started is stopped again; what ran before (npm test's infra) runs on. In this
// project, after the main run, since it starts the services on their fixed ports; npm test builds the
// tools first (scripts/observe.sh tools, the step observe-tools), so a cold Jaeger build is not
// inside a test's time.
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const script = (name: string) => join(ROOT, 'scripts', name)

// The ports of infra/stack.env, the environment winning, as scripts/lib.sh reads them.
const ports = Object.fromEntries(readFileSync(join(ROOT, 'infra/stack.env'), 'utf8').split('\n')
  .map((line) => /^(SW_\w+_PORT)=(\d+)$/.exec(line.trim())).filter((m) => m !== null)
  .map((m) => [m[1]!, Number(process.env[m[1]!] ?? m[2]!)]))
const prometheus = `http://127.0.0.1:${ports['SW_PROMETHEUS_PORT']}`
const jaeger = `http://127.0.0.1:${ports['SW_JAEGER_UI_PORT']}`

// Every alert of observability/rules/.
const alertNames = readdirSync(join(ROOT, 'observability/rules')).filter((f) => f.endsWith('.yml')).flatMap((file) =>
  (parse(readFileSync(join(ROOT, 'observability/rules', file), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> })
    .groups.flatMap((g) => g.rules.flatMap((r) => r.alert ?? [])))

/** The names process-compose runs now, for this checkout's stack. */
function running (): Set<string> {
  const r = spawnSync('bash', ['-c', `source ${script('lib.sh')}; pc_alive && pc process list -o json || echo '[]'`], { cwd: ROOT, encoding: 'utf8' })
  return new Set((JSON.parse(r.stdout) as Array<{ name: string, status: string }>).filter((p) => p.status === 'Running').map((p) => p.name))
}

async function api<T> (url: string): Promise<T> {
  const response = await fetch(url)
  expect(response.status, url).toBe(200)
  return await response.json() as T
}

/** Asks until `check` passes (Prometheus scrapes every 10 s, Cassandra's exporter every 30 s). */
async function eventually (check: () => Promise<void>, ms = 90_000): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() > until) throw error
      await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  }
}

interface Target { labels: Record<string, string>, health: string, lastError: string, scrapeUrl: string }
interface Sample { metric: Record<string, string>, value: [number, string] }
const query = async (expr: string): Promise<Sample[]> =>
  (await api<{ data: { result: Sample[] } }>(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)).data.result

let before = new Set<string>()
let banner = ''

beforeAll(() => {
  before = running()
  const began = Date.now()
  banner = execFileSync('bash', [script('start.sh'), '--detach', '--observe'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] })
  console.log(`npm start -- --detach --observe: up in ${((Date.now() - began) / 1000).toFixed(1)} s`)
}, 900_000)

afterAll(() => {
  const mine = [...running()].filter((name) => !before.has(name))
  if (mine.length > 0) execFileSync('bash', ['-c', `source ${script('lib.sh')}; stack_stop "$@"`, 'stop', ...mine], { cwd: ROOT, stdio: 'inherit' })
}, 120_000)

describe('npm start -- --observe', () => {
  it('prints where Prometheus and Jaeger answer', () => {
    expect(banner).toContain(`Prometheus: ${prometheus}`)
    expect(banner).toContain(`Jaeger:     ${jaeger}`)
  })

  it('has Prometheus scrape every service, every exporter, Jaeger and itself, all up', async () => {
    const jobs = ['create-service', 'redirect-service', 'redirect-service', 'key-worker', 'event-worker', 'redis', 'nginx', 'cassandra', 'jaeger', 'prometheus']
    await eventually(async () => {
      const targets = (await api<{ data: { activeTargets: Target[] } }>(`${prometheus}/api/v1/targets`)).data.activeTargets
      expect(targets.map((t) => t.labels['job']).sort()).toEqual([...jobs].sort())
      expect(targets.filter((t) => t.health !== 'up').map((t) => `${t.labels['job']} ${t.scrapeUrl}: ${t.health} ${t.lastError}`)).toEqual([])
    })
  }, 120_000)

  it('loads every alert of observability/rules/', async () => {
    const groups = (await api<{ data: { groups: Array<{ rules: Array<{ type: string, name: string }> }> } }>(`${prometheus}/api/v1/rules`)).data.groups
    const loaded = new Set(groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => r.name)))
    expect(alertNames.length).toBeGreaterThan(0)
    expect(alertNames.filter((name) => !loaded.has(name))).toEqual([])
  })

  it('reads Redis, nginx and Cassandra through their exporters', async () => {
    await eventually(async () => {
      expect((await query('redis_up')).map((s) => s.value[1])).toEqual(['1'])
      expect((await query('nginx_up')).map((s) => s.value[1])).toEqual(['1'])
      expect((await query('sum(nginx_http_requests_total)'))[0]?.value[1]).toMatch(/^[1-9]/)
      // The node answers CQL: its native transport counts the services' connections.
      expect(Number((await query('sum(cassandra_client_connectednativeclients_value)'))[0]?.value[1])).toBeGreaterThan(0)
      expect((await query('cassandra_storage_load_count'))).toHaveLength(1)
    })
  }, 120_000)

  it('has the services\' own series, labelled by service', async () => {
    await eventually(async () => {
      const services = (await query('count by (service) (process_cpu_seconds_total{job=~".*-service|.*-worker"})')).map((s) => s.metric['service']).sort()
      expect(services).toEqual(['create-service', 'event-worker', 'key-worker', 'redirect-service'])
    })
  }, 120_000)

  it('has Jaeger take a trace over OTLP/HTTP and list its service in the query API', async () => {
    expect((await api<{ data: string[] | null }>(`${jaeger}/api/services`)).data).not.toBeUndefined()
    const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('')
    const now = BigInt(Date.now()) * 1_000_000n
    const sent = await fetch(`http://127.0.0.1:${ports['SW_JAEGER_OTLP_HTTP_PORT']}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'observe-stack-test' } }] },
          scopeSpans: [{
            spans: [{
              traceId,
              spanId: traceId.slice(0, 16),
              name: 'probe',
              kind: 1,
              startTimeUnixNano: String(now - 1_000_000n),
              endTimeUnixNano: String(now)
            }]
          }]
        }]
      })
    })
    expect(sent.status).toBe(200)
    await eventually(async () => {
      expect((await api<{ data: string[] }>(`${jaeger}/api/services`)).data).toContain('observe-stack-test')
      const trace = await api<{ data: Array<{ spans: Array<{ operationName: string }> }> }>(`${jaeger}/api/traces/${traceId}`)
      expect(trace.data[0]?.spans.map((s) => s.operationName)).toEqual(['probe'])
    }, 30_000)
  }, 60_000)

  describe('a create and a redirect through nginx', () => {
    interface JaegerSpan {
      spanID: string
      operationName: string
      startTime: number
      duration: number
      processID: string
      references: Array<{ refType: string, spanID: string }>
      tags: Array<{ key: string, value: unknown }>
    }
    interface JaegerTrace { spans: JaegerSpan[], processes: Record<string, { serviceName: string }> }
    // nginx's port is nginx/env/local.conf's.
    const edge = 'http://127.0.0.1:8080'

    /** The trace Jaeger holds for a request id, once its service has exported it (batches: 1 s). */
    async function traceOf (requestId: string, services: string[]): Promise<JaegerTrace> {
      let found: JaegerTrace | undefined
      await eventually(async () => {
        const response = await fetch(`${jaeger}/api/traces/${requestId}`)
        expect(response.status, `trace ${requestId}`).toBe(200)
        found = ((await response.json()) as { data: JaegerTrace[] }).data[0]
        const seen = new Set(found?.spans.map((s) => found!.processes[s.processID]?.serviceName))
        expect([...seen].sort()).toEqual(expect.arrayContaining(services))
      }, 30_000)
      return found!
    }

    /** Every span of the trace with its service, its depth below the root, and its parent's name. */
    function tree (trace: JaegerTrace) {
      const byId = new Map(trace.spans.map((s) => [s.spanID, s]))
      const parentOf = (s: JaegerSpan) => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '')
      return trace.spans.map((s) => {
        let depth = 0
        for (let p = parentOf(s); p !== undefined; p = parentOf(p)) depth++
        return { name: s.operationName, service: trace.processes[s.processID]?.serviceName, depth, span: s }
      })
    }

    it('puts both traces in Jaeger under nginx\'s request id, from the service\'s request span down to Redis and Cassandra', async () => {
      const created = await fetch(`${edge}/api/v1/links`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/traced' })
      })
      expect(created.status).toBe(201)
      const createId = created.headers.get('x-request-id')!
      expect(createId).toMatch(/^[0-9a-f]{32}$/)
      const { key } = await created.json() as { key: string }
      const followed = await fetch(`${edge}/${key}`, { redirect: 'manual' })
      expect(followed.status).toBe(302)
      const redirectId = followed.headers.get('x-request-id')!
      expect(redirectId).toMatch(/^[0-9a-f]{32}$/)

      const create = tree(await traceOf(createId, ['create-service']))
      const redirect = tree(await traceOf(redirectId, ['redirect-service']))
      for (const [trace, service] of [[create, 'create-service'], [redirect, 'redirect-service']] as const) {
        console.log(`${service} trace:\n${trace.sort((a, b) => a.span.startTime - b.span.startTime).map((s) => `  ${'  '.repeat(s.depth)}${s.service} ${s.name} ${(s.span.duration / 1000).toFixed(2)} ms`).join('\n')}`)
        // One root: the service's request span, whose parent is nginx's hop (a span nginx does not record).
        const roots = trace.filter((s) => s.depth === 0)
        expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual([`${service} ${service === 'create-service' ? 'POST /api/v1/links' : 'GET /:key'}`])
        expect(roots[0]!.span.references.map((r) => r.refType)).toEqual(['CHILD_OF'])
      }
      // The create claims a key and writes the link in Cassandra, inside its request.
      expect(create.filter((s) => s.name.startsWith('cassandra-driver.') && s.depth > 0).length).toBeGreaterThan(0)
      // The redirect reads the link from Redis (the create cached it) or Cassandra, inside its request.
      expect(redirect.filter((s) => s.depth > 0 && (s.span.tags.some((t) => (t.key === 'db.system' || t.key === 'db.system.name') && (t.value === 'redis' || t.value === 'cassandra')))).length).toBeGreaterThan(0)
    }, 90_000)
  })
})
