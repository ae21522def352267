// k8s/ rendered by kustomize (base and both overlays) and every object validated by kubevalidate
// (strict decoding into client-go's API types: an unknown field, a wrong type, an unparsable
// quantity or an apiVersion/kind the API does not serve fails). Then what the manifests promise:
// hardened pods, probes, drain timing, autoscaling, and who may reach whom.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BUILD_TIMEOUT_MS, OVERLAYS, containerEnv, image, imageOf, ensureValidators, find, podTemplates,
  render, root, runTool, secretTemplates, type K8sObject
} from './helpers.ts'

const SERVICES = { 'create-service': 3001, 'redirect-service': 3002, 'key-worker': 3004, 'event-worker': 3005 } as const
const OURS = ['nginx', 'create-service', 'redirect-service', 'key-worker', 'event-worker']
const NAME = 'app.kubernetes.io/name'

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

// ---------------------------------------------------------------- a small NetworkPolicy model

interface Selector {
  matchLabels?: Record<string, string>
  matchExpressions?: Array<{ key: string, operator: string, values?: string[] }>
}

function selects (selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels
    const value = labels[e.key] ?? ''
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(value))) return false
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(value)) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

/** A pod of the namespace by its labels, or null for a client outside the cluster. */
type Source = Record<string, string> | null

/** Whether ingress from `source` to a pod labelled `target` on `port` is admitted. */
function admits (objects: K8sObject[], target: Record<string, string>, source: Source, port: number): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' &&
    (o.spec.policyTypes ?? ['Ingress']).includes('Ingress') && selects(o.spec.podSelector, target))
  if (policies.length === 0) return true
  return policies.some((p) => (p.spec.ingress ?? []).some((rule: any) => {
    const portOk = !rule.ports?.length || rule.ports.some((p: any) => p.port === undefined || p.port === port)
    const fromOk = !rule.from?.length || rule.from.some((peer: any) =>
      source !== null && peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector, source))
    return portOk && fromOk
  }))
}

function podLabels (objects: K8sObject[]): Map<string, Record<string, string>> {
  const labels = podTemplates(objects).map(({ pod }) => pod.metadata.labels as Record<string, string>)
  return new Map(labels.map((l) => [l[NAME]!, l]))
}

// ---------------------------------------------------------------- rendering and validation

describe('kustomize and kubevalidate', () => {
  it.each(['k8s/base', ...OVERLAYS])('%s renders and every object is valid for the Kubernetes API', (dir) => {
    expect(render(dir).length).toBeGreaterThan(10)
  })

  it('kubevalidate rejects a misspelt field, a wrong type and a selector that does not match its pods', () => {
    const deployment = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
${spec}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: x
          image: x
`
    const typo = runTool('kubevalidate', ['-'], deployment('  replica: 2\n  selector: {matchLabels: {app: x}}'))
    expect(typo.status).toBe(1)
    expect(typo.stderr).toContain('unknown field "spec.replica"')
    const type = runTool('kubevalidate', ['-'], deployment('  replicas: two\n  selector: {matchLabels: {app: x}}'))
    expect(type.status).toBe(1)
    const selector = runTool('kubevalidate', ['-'], deployment('  selector: {matchLabels: {app: other}}'))
    expect(selector.status).toBe(1)
    expect(selector.stderr).toContain('does not match')
    const fine = runTool('kubevalidate', ['-'], deployment('  selector: {matchLabels: {app: x}}'))
    expect(fine.stderr).toContain('1 object(s) valid')
    expect(fine.status).toBe(0)
  })
})

describe.each(OVERLAYS)('%s', (overlay) => {
  const objects = () => render(overlay)
  const deployment = (name: string) => find(objects(), 'Deployment', name)
  const container = (owner: K8sObject) => owner.spec.template.spec.containers[0]
  const env = (owner: K8sObject) => containerEnv(objects(), container(owner), secretTemplates()).env

  it('puts every namespaced object into the shortwave namespace, labelled as part of it', () => {
    for (const o of objects()) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('shortwave')
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind} ${o.metadata.name}`).toBe('shortwave')
    }
    expect(find(objects(), 'Namespace', 'shortwave').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
  })

  it('runs every Shortwave image from a Dockerfile of this repository', () => {
    for (const { owner, pod } of podTemplates(objects())) {
      for (const c of pod.spec.containers) {
        if (/shortwave\//.test(c.image)) expect(imageOf(c.image), `${owner.metadata.name}: ${c.image}`).toBeDefined()
      }
    }
  })

  it('meets the restricted Pod Security Standard in every pod', () => {
    for (const { owner, pod } of podTemplates(objects())) {
      const who = `${owner.kind} ${owner.metadata.name}`
      expect(pod.spec.securityContext?.runAsNonRoot, who).toBe(true)
      expect(pod.spec.securityContext?.runAsUser, who).toBeGreaterThan(0)
      expect(pod.spec.securityContext?.seccompProfile?.type, who).toBe('RuntimeDefault')
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        expect(c.securityContext?.allowPrivilegeEscalation, `${who}/${c.name}`).toBe(false)
        expect(c.securityContext?.capabilities?.drop, `${who}/${c.name}`).toEqual(['ALL'])
        expect(c.securityContext?.capabilities?.add, `${who}/${c.name}`).toBeUndefined()
      }
    }
  })

  it('runs the Shortwave pods with a read-only root filesystem and a small in-memory /tmp', () => {
    for (const { owner, pod } of podTemplates(objects()).filter(({ pod }) => [...OURS, 'migrate'].includes(pod.metadata.labels[NAME]))) {
      const c = pod.spec.containers[0]
      expect(c.securityContext?.readOnlyRootFilesystem, owner.metadata.name).toBe(true)
      const tmp = c.volumeMounts?.find((m: any) => m.mountPath === '/tmp')
      const volume = pod.spec.volumes?.find((v: any) => v.name === tmp?.name)
      expect(volume?.emptyDir?.sizeLimit, owner.metadata.name).toBeDefined()
      expect(pod.spec.automountServiceAccountToken, owner.metadata.name).toBe(false)
    }
  })

  it('runs the image\'s own user (the uid of USER in its Dockerfile)', () => {
    const uids: Record<string, number> = { node: 1000, '101:101': 101 }
    for (const { owner, pod } of podTemplates(objects())) {
      const name = imageOf(pod.spec.containers[0].image)
      if (!name) continue
      const user = image(name).image.config.User ?? ''
      expect(pod.spec.securityContext.runAsUser, owner.metadata.name).toBe(uids[user])
    }
  })

  it('sets CPU and memory requests and a memory limit on every container', () => {
    for (const { owner, pod } of podTemplates(objects())) {
      for (const c of pod.spec.containers) {
        expect(c.resources?.requests?.cpu, owner.metadata.name).toBeDefined()
        expect(c.resources?.requests?.memory, owner.metadata.name).toBeDefined()
        expect(c.resources?.limits?.memory, owner.metadata.name).toBeDefined()
      }
    }
  })

  describe.each(Object.entries(SERVICES))('%s', (name, port) => {
    it(`listens on ${port} (its PORT), probed on /healthz for liveness and /readyz for readiness`, () => {
      const d = deployment(name)
      const c = container(d)
      expect(c.ports).toEqual([{ name: 'http', containerPort: port }])
      expect(env(d)['PORT']).toBe(String(port))
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' })
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' })
    })

    it('gives the pod longer to stop than the preStop pause plus the app\'s drain (SHUTDOWN_GRACE_MS)', () => {
      const d = deployment(name)
      const pauseS = container(d).lifecycle?.preStop?.sleep?.seconds
      expect(pauseS).toBeGreaterThan(0)
      const graceMs = Number(env(d)['SHUTDOWN_GRACE_MS'])
      expect(graceMs).toBeGreaterThan(0)
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(pauseS * 1000 + graceMs)
    })

    it('has a Service selecting its pods on the http port, and a PodDisruptionBudget', () => {
      const labels = deployment(name).spec.template.metadata.labels
      const service = find(objects(), 'Service', name)
      expect(selects({ matchLabels: service.spec.selector }, labels)).toBe(true)
      expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http' }])
      expect(selects(find(objects(), 'PodDisruptionBudget', name).spec.selector, labels)).toBe(true)
    })
  })

  it.each(['create-service', 'redirect-service'])('scales %s with a HorizontalPodAutoscaler that owns the replica count', (name) => {
    const hpa = find(objects(), 'HorizontalPodAutoscaler', name)
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name })
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1)
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas)
    expect(deployment(name).spec.replicas).toBeUndefined()
  })

  it('runs at least two redirect-service replicas', () => {
    expect(find(objects(), 'HorizontalPodAutoscaler', 'redirect-service').spec.minReplicas).toBeGreaterThanOrEqual(2)
  })

  it('has nginx, built from nginx/nginx.conf, reach the services by the names its site files use', () => {
    const nginx = deployment('nginx')
    expect(imageOf(container(nginx).image)).toBe('nginx')
    const site = image('nginx').stages.at(-1)!.copies.flatMap((c) => c.inline ?? []).map((i) => i.data).join('')
    const upstreams = [...site.matchAll(/server ([a-z0-9-]+):(\d+)/g)].map((m) => [m[1], Number(m[2])])
    expect(upstreams).toEqual([['create-service', 3001], ['redirect-service', 3002]])
    for (const [host, port] of upstreams) {
      expect(find(objects(), 'Service', host as string).spec.ports.map((p: any) => p.port)).toContain(port)
    }
    expect(container(nginx).lifecycle?.preStop?.exec?.command?.join(' ')).toMatch(/sleep \d+.*kill -QUIT 1/)
  })

  it('migrates the schema with a Job running migrate-cli from the key-worker image', () => {
    const job = find(objects(), 'Job', 'migrate')
    const c = container(job)
    expect(c.command).toEqual(['node', '/app/common/src/cassandra/migrate-cli.ts'])
    expect(imageOf(c.image)).toBe('key-worker')
    expect(job.spec.template.spec.restartPolicy).toBe('OnFailure')
    expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0)
  })

  it('creates the keyspace with one replica per Cassandra node of the datacenter the services use', () => {
    const cassandra = find(objects(), 'StatefulSet', 'cassandra')
    const cassandraEnv = containerEnv(objects(), container(cassandra)).env
    const dc = cassandraEnv['CASSANDRA_DC']
    const replication = env(find(objects(), 'Job', 'migrate'))['CASSANDRA_REPLICATION']
    expect(replication).toBe(`NetworkTopologyStrategy:${dc}=${cassandra.spec.replicas}`)
    for (const name of Object.keys(SERVICES)) expect(env(deployment(name))['CASSANDRA_LOCAL_DC'], name).toBe(dc)
    expect(cassandra.spec.template.spec.containers[0].image).toBe('cassandra:5.0')
    expect(cassandra.spec.volumeClaimTemplates[0].metadata.name).toBe('data')
  })

  it('runs Redis without persistence and without a volume claim', () => {
    const redis = find(objects(), 'StatefulSet', 'redis')
    const args: string[] = container(redis).args
    expect(args[args.indexOf('--save') + 1]).toBe('')
    expect(args[args.indexOf('--appendonly') + 1]).toBe('no')
    expect(redis.spec.volumeClaimTemplates).toBeUndefined()
  })

  describe('NetworkPolicies', () => {
    const matrix: Array<[string, number, string[]]> = [
      ['nginx', 8080, ['external', 'nginx', 'create-service', 'redirect-service', 'key-worker', 'event-worker', 'migrate', 'redis', 'cassandra']],
      ['create-service', 3001, ['nginx']],
      ['redirect-service', 3002, ['nginx']],
      ['key-worker', 3004, []],
      ['event-worker', 3005, []],
      ['migrate', 3004, []],
      ['redis', 6379, ['create-service', 'redirect-service', 'key-worker']],
      ['cassandra', 9042, ['create-service', 'redirect-service', 'key-worker', 'event-worker', 'migrate', 'cassandra']]
    ]
    it.each(matrix)('admit to %s:%i exactly %j', (target, port, allowed) => {
      const pods = podLabels(objects())
      const targetLabels = pods.get(target)
      expect(targetLabels, target).toBeDefined()
      const sources: Array<[string, Source]> = [['external', null], ...[...pods.entries()]]
      const admitted = sources.filter(([, labels]) => admits(objects(), targetLabels!, labels, port)).map(([n]) => n)
      expect(admitted.sort()).toEqual([...allowed].sort())
    })

    it('lets the event-worker out only to Cassandra, DNS, and public addresses on 80 and 443', () => {
      const egress = objects().filter((o) => o.kind === 'NetworkPolicy' && (o.spec.policyTypes ?? []).includes('Egress'))
      expect(egress.map((o) => o.metadata.name)).toEqual(['event-worker-egress'])
      const rules = egress[0]!.spec.egress as Array<{ to?: any[], ports: Array<{ port: number }> }>
      const outside = rules.find((rule) => rule.to?.some((peer) => peer.ipBlock))!
      expect(outside.ports.map((p) => p.port).sort()).toEqual([443, 80])
      const except = outside.to!.flatMap((peer) => peer.ipBlock.except as string[])
      for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', 'fc00::/7', 'fe80::/10']) {
        expect(except, range).toContain(range)
      }
      const inside = rules.filter((rule) => rule.to?.some((peer) => peer.podSelector))
      expect(inside.map((rule) => [rule.to![0].podSelector.matchLabels[NAME], rule.ports.map((p) => p.port)])).toEqual([['cassandra', [9042]]])
    })
  })
})

describe('k8s/overlays/prod', () => {
  const objects = () => render('k8s/overlays/prod')
  const env = (kind: string, name: string) =>
    containerEnv(objects(), find(objects(), kind, name).spec.template.spec.containers[0], secretTemplates()).env

  it('reads and writes at LOCAL_QUORUM on a three-node Cassandra with RF 3', () => {
    for (const name of Object.keys(SERVICES)) expect(env('Deployment', name)['CASSANDRA_CONSISTENCY'], name).toBe('LOCAL_QUORUM')
    expect(find(objects(), 'StatefulSet', 'cassandra').spec.replicas).toBe(3)
    expect(env('Job', 'migrate')['CASSANDRA_REPLICATION']).toBe('NetworkTopologyStrategy:dc1=3')
  })

  it('requires an API key to create links', () => {
    expect(env('Deployment', 'create-service')['ALLOW_ANONYMOUS']).toBe('false')
  })

  it('scales out further than dev', () => {
    const dev = render('k8s/overlays/dev')
    for (const name of ['create-service', 'redirect-service']) {
      const minOf = (o: K8sObject[]) => find(o, 'HorizontalPodAutoscaler', name).spec.minReplicas
      expect(minOf(objects()), name).toBeGreaterThan(minOf(dev))
    }
    expect(find(objects(), 'Deployment', 'nginx').spec.replicas).toBeGreaterThan(find(dev, 'Deployment', 'nginx').spec.replicas)
  })

  it('never renders the Cassandra credentials, which live only in the cluster', () => {
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([])
    expect(Object.keys(secretTemplates())).toEqual(['shortwave-cassandra-auth'])
  })

  it('exposes nginx through a load balancer that keeps the client\'s address', () => {
    const service = find(objects(), 'Service', 'nginx')
    expect(service.spec.type).toBe('LoadBalancer')
    expect(service.spec.externalTrafficPolicy).toBe('Local')
  })

  it('pulls versioned images, never a floating tag', () => {
    for (const { pod } of podTemplates(objects())) {
      for (const c of pod.spec.containers) expect(c.image).toMatch(/:(?!latest$|dev$)[\w.-]+$/)
    }
  })
})

describe('docs/deploy.md', () => {
  it('names every command it tells people to run against a file that exists', () => {
    const doc = readFileSync(join(root, 'docs/deploy.md'), 'utf8')
    const paths = [...doc.matchAll(/(?:-f|-k) ((?:k8s|nginx)\/[\w./-]+|Dockerfile)\b/g)].map((m) => m[1]!)
    expect(paths.length).toBeGreaterThan(5)
    for (const path of paths) {
      const file = path.startsWith('k8s/') ? join(path, 'kustomization.yaml') : path
      expect(() => readFileSync(join(root, file)), path).not.toThrow()
    }
  })
})
