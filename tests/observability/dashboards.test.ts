// The Grafana dashboards (observability/dashboards/): valid dashboard JSON, the committed files a
// fresh build, and every series a PromQL expression asks for one a service really exports, with
// the labels it really has. The names come from the services' own metric constructors, run on a
// registry each (no Redis or Cassandra needed); a scan of the sources keeps that list complete.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard'
import type { Dataquery as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus'
import metricsPlugin from '@shortwave/common/plugins/metrics'
import { createMetrics as createServiceMetrics } from '../../create-service/src/metrics.ts'
import { createMetrics as redirectServiceMetrics } from '../../redirect-service/src/metrics.ts'
import { createMetrics as keyWorkerMetrics } from '../../key-worker/src/metrics.ts'
import { createMetrics as eventWorkerMetrics } from '../../event-worker/src/metrics.ts'
import { DASHBOARDS_DIR, dashboards, render } from '../../observability/dashboards/build.ts'
import { DATASOURCE } from '../../observability/dashboards/src/shared.ts'

const root = join(import.meta.dirname, '../..')

// The files that construct prom-client metrics, each run below on its service's registry.
const METRIC_SOURCES = [
  'common/src/plugins/metrics.ts',
  'create-service/src/metrics.ts',
  'redirect-service/src/metrics.ts',
  'key-worker/src/metrics.ts',
  'event-worker/src/metrics.ts'
]
const SERVICES = ['create-service', 'redirect-service', 'key-worker', 'event-worker'] as const
type Service = typeof SERVICES[number]

/** A series a query may name, and the labels it may carry. */
type Series = Map<string, Set<string>>

// Labels on every series: the registry's default label, and what Prometheus adds to each target.
const COMMON_LABELS = ['service', 'job', 'instance']
// Series Prometheus makes itself for each scrape target.
const PROMETHEUS_SERIES: Series = new Map([['up', new Set(['job', 'instance'])]])

/** The series one registry exposes: a histogram's _bucket, _sum and _count, a summary's quantiles. */
function seriesOf (registry: Registry): Series {
  const series: Series = new Map()
  for (const metric of registry.getMetricsAsArray()) {
    // labelNames is what the metric was constructed with; prom-client's types leave it out.
    const labels = new Set([...COMMON_LABELS, ...(metric as unknown as { labelNames: string[] }).labelNames])
    const add = (name: string, extra: string[] = []): void => { series.set(name, new Set([...labels, ...extra])) }
    if (String(metric.type) === 'histogram') {
      add(`${metric.name}_bucket`, ['le'])
      add(`${metric.name}_sum`)
      add(`${metric.name}_count`)
    } else if (String(metric.type) === 'summary') {
      add(metric.name, ['quantile'])
      add(`${metric.name}_sum`)
      add(`${metric.name}_count`)
    } else {
      add(metric.name)
    }
  }
  return series
}

const unread = (): never => { throw new Error('a metric was collected: this test only reads their names') }

/** Each service's registry as its app builds it: the shared HTTP and runtime metrics, then its own. */
async function registryOf (service: Service): Promise<Registry> {
  const app = Fastify()
  await app.register(metricsPlugin, { service })
  await app.ready()
  const registry = app.metrics // outlives the app: nothing here scrapes it
  await app.close()
  // What the metrics read is read only when /metrics is scraped, which this test never does.
  if (service === 'create-service') createServiceMetrics(registry)
  if (service === 'redirect-service') {
    redirectServiceMetrics(registry, {
      lookups: unread, clicks: unread, redirects: unread, invalidations: unread, analytics: unread
    })
  }
  if (service === 'key-worker') keyWorkerMetrics(registry, { poolDepth: unread })
  if (service === 'event-worker') eventWorkerMetrics(registry, { shardsHeld: unread, inFlight: unread })
  return registry
}

/** Every TypeScript file below a folder. */
function sources (dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
}

type AnyPanel = Panel | RowPanel
const isRow = (panel: AnyPanel): panel is RowPanel => panel.type === 'row'

/** Every panel that draws something, rows' nested panels included. */
function panelsOf (dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => isRow(panel) ? panel.panels : [panel])
}

/** A panel's queries: every one is Prometheus's (the test of the data sources says so). */
const targetsOf = (panel: Panel): PromQuery[] => (panel.targets ?? []) as PromQuery[]

function exprsOf (dashboard: Dashboard): string[] {
  return panelsOf(dashboard).flatMap((panel) => targetsOf(panel).map((target) => target.expr))
}

// PromQL words that are not series names, and the clauses whose parentheses list labels.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset'])
const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g
const NAME = /(?<![\w:.])[a-zA-Z_:][\w:]*(?![\w:(])(?!\s*\()/g

/** The series an expression names, each with the label matchers of its selector. */
function selectorsOf (expr: string): Array<{ name: string, matchers: Array<[string, string]> }> {
  const found: Array<{ name: string, matchers: Array<[string, string]> }> = []
  // Quoted label values out first: a regular expression in one may hold braces or names.
  const values: string[] = []
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => `"${values.push(JSON.parse(quoted) as string) - 1}"`)
    .replace(LABEL_LIST, '')
    .replace(/\[[^\]]*\]/g, '')
  const withoutMatchers = bare.replace(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g, (_all, name: string, body: string) => {
    const matchers = [...body.matchAll(/(\w+)\s*(?:=~|!~|!=|=)\s*"(\d+)"/g)]
      .map(([, label, index]) => [label, values[Number(index)]] as [string, string])
    found.push({ name, matchers })
    return ''
  })
  for (const [name] of withoutMatchers.matchAll(NAME)) {
    if (!KEYWORDS.has(name)) found.push({ name, matchers: [] })
  }
  return found
}

/** The labels an expression groups or matches by, in its `by (…)`, `on (…)` and such clauses. */
const groupingLabelsOf = (expr: string): string[] =>
  [...expr.matchAll(LABEL_LIST)].flatMap(([, , list]) => (list ?? '').split(',').map((l) => l.trim()).filter(Boolean))

const built = dashboards()
const all = Object.values(built)
const registries = new Map<Service, Series>()
let exported: Series = new Map()

beforeAll(async () => {
  for (const service of SERVICES) registries.set(service, seriesOf(await registryOf(service)))
  exported = new Map(PROMETHEUS_SERIES)
  for (const series of registries.values()) {
    for (const [name, labels] of series) exported.set(name, new Set([...(exported.get(name) ?? []), ...labels]))
  }
})

describe('the dashboards as committed', () => {
  it('are the four dashboards, each file a fresh build', () => {
    const committed = readdirSync(DASHBOARDS_DIR).filter((file) => file.endsWith('.json')).sort()
    expect(committed, 'run npm run dashboards').toEqual(Object.keys(built).sort())
    for (const [file, dashboard] of Object.entries(built)) {
      expect(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'), `${file} is stale: run npm run dashboards`)
        .toBe(render(dashboard))
    }
  })
})

describe('each dashboard', () => {
  it('has a title, a unique uid Grafana accepts and the current schema version', () => {
    for (const dashboard of all) {
      expect(dashboard.title).toMatch(/^Shortwave: /)
      expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/)
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
      expect(dashboard.tags).toContain('shortwave')
    }
    expect(new Set(all.map((d) => d.uid)).size).toBe(all.length)
    expect(new Set(all.map((d) => d.title)).size).toBe(all.length)
  })

  it('asks the Prometheus data source chosen in its datasource variable', () => {
    expect(DATASOURCE).toEqual({ type: 'prometheus', uid: '$' + '{datasource}' }) // Grafana's ${…}, not a template
    for (const dashboard of all) {
      expect(dashboard.templating.list, dashboard.title).toContainEqual(
        expect.objectContaining({ type: 'datasource', name: 'datasource', query: 'prometheus' }))
    }
  })

  it('gives every panel an id of its own, a data source, a description and queries with one refId each', () => {
    for (const dashboard of all) {
      const ids = (dashboard.panels ?? []).flatMap((p) => [p.id, ...(isRow(p) ? p.panels.map((q) => q.id) : [])])
      expect(new Set(ids).size, dashboard.title).toBe(ids.length)
      for (const panel of panelsOf(dashboard)) {
        const where = `${dashboard.title} / ${panel.title}`
        expect(panel.datasource, where).toEqual(DATASOURCE)
        expect(panel.description, where).toBeTruthy()
        expect(targetsOf(panel).length, where).toBeGreaterThan(0)
        const refIds = targetsOf(panel).map((t) => t.refId)
        expect(new Set(refIds).size, where).toBe(refIds.length)
        for (const target of targetsOf(panel)) {
          expect(target.datasource, where).toEqual(DATASOURCE)
          expect(target.expr, where).toMatch(/\S/)
        }
      }
    }
  })

  it('lays its panels out on the 24-column grid without overlaps', () => {
    for (const dashboard of all) {
      const cells = new Set<string>()
      for (const panel of dashboard.panels ?? []) {
        const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 }
        expect(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${dashboard.title} / ${panel.title}`).toBe(true)
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            expect(cells.has(`${i},${j}`), `${dashboard.title} / ${panel.title} overlaps`).toBe(false)
            cells.add(`${i},${j}`)
          }
        }
      }
    }
  })
})

describe('the queries', () => {
  it('find their series names in the expressions (the parser this test uses)', () => {
    expect(selectorsOf('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{service="a", route!~"/x|/y{1}"}[5m])))'))
      .toEqual([{ name: 'http_request_duration_seconds_bucket', matchers: [['service', 'a'], ['route', '/x|/y{1}']] }])
    expect(selectorsOf('max(a_total) / clamp_min(sum(rate(b_total{x="1"}[1h])), 1 / 31536000) - c'))
      .toEqual([{ name: 'b_total', matchers: [['x', '1']] }, { name: 'a_total', matchers: [] }, { name: 'c', matchers: [] }])
  })

  it('are built from the metrics of every file that constructs one', () => {
    const constructing = ['common', ...SERVICES].flatMap((ws) => sources(`${ws}/src`))
      .filter((file) => /\bnew (Counter|Gauge|Histogram|Summary)\b|collectDefaultMetrics\(/.test(readFileSync(join(root, file), 'utf8')))
    expect(constructing.sort()).toEqual([...METRIC_SOURCES].sort())
  })

  it('name only series the services export (or Prometheus makes), with labels they carry', () => {
    const problems: string[] = []
    for (const dashboard of all) {
      for (const expr of exprsOf(dashboard)) {
        const selectors = selectorsOf(expr)
        expect(selectors.length, expr).toBeGreaterThan(0)
        const allowed = new Set<string>()
        for (const { name, matchers } of selectors) {
          const labels = exported.get(name)
          if (labels === undefined) {
            problems.push(`${dashboard.title}: ${name} is exported by no service (${expr})`)
            continue
          }
          for (const label of labels) allowed.add(label)
          for (const [label, value] of matchers) {
            if (!labels.has(label)) problems.push(`${dashboard.title}: ${name} has no label ${label} (${expr})`)
            if (label === 'service' && registries.get(value as Service)?.has(name) !== true) {
              problems.push(`${dashboard.title}: ${value} does not export ${name}`)
            }
          }
        }
        for (const label of groupingLabelsOf(expr)) {
          if (!allowed.has(label)) problems.push(`${dashboard.title}: no series of ${expr} has the label ${label}`)
        }
      }
    }
    expect(problems).toEqual([])
  })

  describe('as Prometheus parses them', () => {
    let dir = ''
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'sw-dashboards-')) })
    afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

    it('are valid PromQL (promtool check rules, each expression a recording rule)', () => {
      // No expression uses a dashboard variable ($datasource is the panels' data source), so each
      // is PromQL as it stands.
      const exprs = all.flatMap(exprsOf)
      expect(exprs.filter((expr) => expr.includes('$'))).toEqual([])
      const rules = exprs.map((expr, i) => ({ record: `dashboard_query_${i}`, expr }))
      const file = join(dir, 'queries.rules.json')
      // JSON is YAML: promtool reads it as a rules file.
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboards', rules }] }))
      // promtool is Debian's prometheus package, which the alert rules' tests need as well.
      const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })
      expect(check.error, 'promtool not found: apt-get install prometheus').toBeUndefined()
      expect(check.stdout + check.stderr).toContain(`SUCCESS: ${rules.length} rules found`)
    })
  })
})
