// k8s/components/observability, rendered into the prod overlay (tests/observability/prod-observed)
// by the same kustomize as the rest of k8s/ and validated by the same kubevalidate
// (tests/deploy/helpers.ts render): every object decodes strictly into its Go API type, the
// Prometheus Operator's ServiceMonitor and PrometheusRule into the operator's own types, so an
// unknown field, a wrong type or a misspelt kind fails there (proven below on altered copies).
// What the types cannot say is checked here: every ServiceMonitor selects its own Service and
// names a port of it, scrapes /metrics keeping the services' own labels, every so many seconds
// (the CRD's pattern for a Duration is not in the Go type), and every PrometheusRule carries
// exactly the groups of its file in observability/rules/ (the ones promtool tests).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { OUTPUT, RULES_DIR, prometheusRules } from '../../scripts/prometheus-rules.ts'
import { BUILD_TIMEOUT_MS, ensureValidators, render, root, runTool, type K8sObject } from '../deploy/helpers.ts'

const SERVICES = ['create-service', 'redirect-service', 'key-worker', 'event-worker']
const NAME = 'app.kubernetes.io/name'

// kustomize build, then kubevalidate -json; throws with kubevalidate's report if any object fails.
const objects = () => render('tests/observability/prod-observed')
const byKind = (kind: string) => objects().filter((o) => o.kind === kind)
const one = (kind: string, name: string) => {
  const found = objects().find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name}`)
  return found
}

/** kubevalidate on a copy of a rendered object, changed by `alter`. */
function validateAltered (object: K8sObject, alter: (copy: any) => void) {
  const copy = structuredClone(object)
  alter(copy)
  return runTool('kubevalidate', ['-'], JSON.stringify(copy))
}

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

describe('the observability component', () => {
  it('wraps exactly the rules of observability/rules (node scripts/prometheus-rules.ts is up to date)', () => {
    expect(readFileSync(OUTPUT, 'utf8')).toBe(prometheusRules())
  })

  it('renders objects that kubevalidate accepts, the Prometheus Operator\'s among them', () => {
    expect(objects().map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining([
      'apps/v1 Deployment/otel-collector', 'v1 Service/otel-collector', 'networking.k8s.io/v1 NetworkPolicy/metrics-from-prometheus',
      'monitoring.coreos.com/v1 ServiceMonitor/create-service', 'monitoring.coreos.com/v1 PrometheusRule/shortwave-red'
    ]))
  })

  it('kubevalidate rejects a ServiceMonitor or PrometheusRule with an unknown field, a wrong type or a misspelt kind', () => {
    const monitor = one('ServiceMonitor', 'create-service')
    const field = validateAltered(monitor, (m) => { m.spec.endpoints[0].scrapeInterval = '30s' })
    expect(field.status).toBe(1)
    expect(field.stderr).toContain('(ServiceMonitor shortwave/create-service): strict decoding error: unknown field "spec.endpoints[0].scrapeInterval"')
    const type = validateAltered(monitor, (m) => { m.spec.endpoints[0].honorLabels = 'yes' })
    expect(type.status).toBe(1)
    expect(type.stderr).toContain('spec.endpoints.honorLabels of type bool')
    const kind = validateAltered(monitor, (m) => { m.kind = 'ServiceMonitr' })
    expect(kind.status).toBe(1)
    expect(kind.stderr).toContain('no kind "ServiceMonitr" is registered for version "monitoring.coreos.com/v1"')

    const rule = one('PrometheusRule', 'shortwave-red')
    const first = (r: any) => r.spec.groups[0].rules[0]
    const list = validateAltered(rule, (r) => { first(r).expr = [first(r).expr] })
    expect(list.status).toBe(1)
    expect(list.stderr).toContain('cannot unmarshal array into Go struct field Rule.spec.groups.rules.expr')
    const misspelt = validateAltered(rule, (r) => { first(r).recrod = first(r).record })
    expect(misspelt.status).toBe(1)
    expect(misspelt.stderr).toContain('unknown field "spec.groups[0].rules[0].recrod"')

    const unchanged = validateAltered(rule, () => {})
    expect(unchanged.stderr).toContain('1 object(s) valid')
    expect(unchanged.status).toBe(0)
  })

  it('puts its objects into the shortwave namespace, labelled as part of it', () => {
    for (const o of [...byKind('ServiceMonitor'), ...byKind('PrometheusRule'), one('Deployment', 'otel-collector')]) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('shortwave')
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('shortwave')
    }
  })

  it('has one ServiceMonitor per service, on /metrics of a port its Service has, keeping the services\' own labels', () => {
    const monitors = byKind('ServiceMonitor')
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([...SERVICES].sort())
    for (const m of monitors) {
      const wanted = Object.entries(m.spec.selector.matchLabels as Record<string, string>)
      const selected = byKind('Service').filter((s) => wanted.every(([k, v]) => s.metadata.labels?.[k] === v))
      expect(selected.map((s) => s.metadata.name), m.metadata.name).toEqual([m.metadata.name])
      for (const e of m.spec.endpoints) {
        expect(selected[0]!.spec.ports.map((p: { name: string }) => p.name)).toContain(e.port)
        expect(e).toMatchObject({ path: '/metrics', honorLabels: true })
        // A Duration is a string to the Go type; the pattern is the CRD's, which kubevalidate does not apply.
        expect(e.interval).toMatch(/^\d+s$/)
      }
    }
  })

  it('has one PrometheusRule per rule file with exactly that file\'s groups', () => {
    const files = ['red', 'slo', 'workers-and-stores']
    expect(byKind('PrometheusRule').map((r) => r.metadata.name).sort()).toEqual(files.map((f) => `shortwave-${f}`))
    for (const file of files) {
      const rule = one('PrometheusRule', `shortwave-${file}`)
      expect(rule.spec).toEqual(parse(readFileSync(join(RULES_DIR, `${file}.yml`), 'utf8')))
    }
  })

  it('admits Prometheus from the monitoring namespace to every service\'s metrics port', () => {
    const policy = one('NetworkPolicy', 'metrics-from-prometheus')
    expect(policy.spec.podSelector.matchExpressions[0].values.sort()).toEqual([...SERVICES].sort())
    expect(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('monitoring')
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 'http' }])
    for (const s of SERVICES) expect(one('Service', s).spec.ports[0].name).toBe('http')
  })
})

describe('the OpenTelemetry Collector', () => {
  const deployment = () => one('Deployment', 'otel-collector')
  const pod = () => deployment().spec.template.spec
  const configMap = (prefix: string) => {
    const found = byKind('ConfigMap').find((c) => c.metadata.name.startsWith(`${prefix}-`))
    if (!found) throw new Error(`no ConfigMap ${prefix}`)
    return found
  }

  it('takes OTLP over gRPC and HTTP, batches, and exports OTLP to the endpoint TRACES_ENDPOINT names', () => {
    const cm = configMap('otel-collector-config')
    expect(pod().volumes.find((v: any) => v.name === 'config').configMap.name).toBe(cm.metadata.name)
    const config = parse(cm.data!['config.yaml']!)
    expect(Object.keys(config.receivers.otlp.protocols).sort()).toEqual(['grpc', 'http'])
    expect(config.service.pipelines.traces).toEqual({ receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['otlp'] })
    // The collector's own expansion of an environment variable, not a template string of ours.
    expect(config.exporters.otlp.endpoint).toBe('$' + '{env:TRACES_ENDPOINT}')
    const env = configMap('otel-collector-env')
    expect(pod().containers[0].envFrom[0].configMapRef.name).toBe(env.metadata.name)
    expect(env.data!['TRACES_ENDPOINT']).toMatch(/^[a-z0-9.-]+:4317$/)
  })

  it('listens where its Service sends: 4317 and 4318', () => {
    const ports = pod().containers[0].ports.map((p: any) => [p.name, p.containerPort])
    expect(ports).toEqual([['otlp-grpc', 4317], ['otlp-http', 4318]])
    expect(one('Service', 'otel-collector').spec.ports.map((p: any) => [p.port, p.targetPort]))
      .toEqual([[4317, 'otlp-grpc'], [4318, 'otlp-http']])
  })

  it('runs hardened like the other pods: non-root, read-only root, no capabilities, limits', () => {
    expect(pod().securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    expect(pod().automountServiceAccountToken).toBe(false)
    const c = pod().containers[0]
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    expect(c.resources.limits.memory).toBeDefined()
    expect(c.image).toMatch(/^otel\/opentelemetry-collector:\d+\.\d+\.\d+$/)
  })

  it('is reachable from the services, the event-worker\'s egress included', () => {
    const from = one('NetworkPolicy', 'otel-collector-from-shortwave').spec.ingress[0].from[0].podSelector.matchExpressions[0]
    expect(from.values).toEqual(expect.arrayContaining(SERVICES))
    const egress = one('NetworkPolicy', 'event-worker-egress-otel').spec
    expect(egress.podSelector.matchLabels[NAME]).toBe('event-worker')
    expect(egress.egress[0].to[0].podSelector.matchLabels[NAME]).toBe('otel-collector')
  })
})

it('is documented in docs/deploy.md', () => {
  expect(readFileSync(join(root, 'docs/deploy.md'), 'utf8')).toContain('k8s/components/observability')
})
