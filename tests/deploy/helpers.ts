// Runs the offline validators of scripts/deploy-check.ts (built from deploy-check/) and hands
// their JSON to the tests: what BuildKit makes of each Dockerfile, what compose-go makes of
// compose.yaml, and every object kustomize renders for a k8s/ overlay after kubevalidate
// accepted it. The tests then assert on what would really run, not on the YAML as written.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { readdirSync, existsSync } from 'node:fs'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))

/** Long enough for a cold build of every validator on two cores (measured: about two minutes). */
export const BUILD_TIMEOUT_MS = 480_000

let built = false

/** Builds the validators if needed (idempotent; parallel test files wait on one lock). */
export function ensureValidators (): void {
  if (built) return
  execFileSync(join(root, 'node_modules/.bin/node'), [join(root, 'scripts/deploy-check.ts'), 'build'], {
    cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: BUILD_TIMEOUT_MS
  })
  built = true
}

export function toolPath (name: 'kustomize' | 'kubevalidate' | 'compose-check' | 'dockerfile-check'): string {
  ensureValidators()
  return join(root, '.cache/tools/bin', name)
}

/** Runs a validator; the result keeps stdout, stderr and the exit status for negative tests. */
export function runTool (
  name: Parameters<typeof toolPath>[0],
  args: string[],
  input?: string
): SpawnSyncReturns<string> {
  return spawnSync(toolPath(name), args, { cwd: root, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 })
}

function mustRun (name: Parameters<typeof toolPath>[0], args: string[], input?: string): string {
  const result = runTool(name, args, input)
  if (result.status !== 0) {
    throw new Error(`${name} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}`)
  }
  return result.stdout
}

// ---------------------------------------------------------------- Dockerfiles

export interface DockerSource { path: string, files: string[] }
export interface DockerCopy {
  instruction: 'COPY' | 'ADD'
  from?: string
  sources: DockerSource[]
  inline?: Array<{ path: string, data: string }>
  dest: string
  workdir: string
  line: number
}
export interface DockerStage { name: string, base: string, copies: DockerCopy[], runs: string[] }
export interface ImageConfig {
  User?: string
  Env?: string[]
  Cmd?: string[]
  Entrypoint?: string[]
  WorkingDir?: string
  ExposedPorts?: Record<string, unknown>
  Healthcheck?: { Test: string[] }
  StopSignal?: string
}
export interface DockerfileReport {
  file: string
  buildArgs?: Record<string, string>
  dockerignore?: string
  error?: string
  warnings: Array<{ rule: string, message: string, line: number }>
  stages: DockerStage[]
  image: { config: ImageConfig }
}

/** Every Dockerfile in the repository: at the root, and in top-level folders. */
export function dockerfilePaths (): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules')
    .map((d) => `${d.name}/Dockerfile`)
    .concat('Dockerfile')
    .filter((f) => existsSync(join(root, f)))
    .sort()
}

/**
 * Every Shortwave image (shortwave/<name>) and how it is built: one Dockerfile serves the three
 * Node services, told apart by build arguments. compose.yaml must build them the same way.
 */
export const IMAGES = {
  'create-service': { dockerfile: 'Dockerfile', args: { SERVICE: 'create-service', PORT: '3001' } },
  'redirect-service': { dockerfile: 'Dockerfile', args: { SERVICE: 'redirect-service', PORT: '3002' } },
  'key-worker': { dockerfile: 'Dockerfile', args: { SERVICE: 'key-worker', PORT: '3004' } },
  'event-worker': { dockerfile: 'Dockerfile', args: { SERVICE: 'event-worker', PORT: '3005' } },
  nginx: { dockerfile: 'nginx/Dockerfile', args: {} }
} satisfies Record<string, { dockerfile: string, args: Record<string, string> }>
export type ImageName = keyof typeof IMAGES
export const IMAGE_NAMES = Object.keys(IMAGES) as ImageName[]

const reports = new Map<ImageName, DockerfileReport>()

/** What BuildKit makes of the Dockerfile of an image, with that image's build arguments. */
export function image (name: ImageName): DockerfileReport {
  let report = reports.get(name)
  if (!report) {
    const { dockerfile, args } = IMAGES[name]
    const flags = Object.entries(args).flatMap(([k, v]) => ['-build-arg', `${k}=${v}`])
    report = (JSON.parse(mustRun('dockerfile-check', ['-context', '.', ...flags, dockerfile])) as DockerfileReport[])[0]!
    reports.set(name, report)
  }
  return report
}

/**
 * Where each context file of a COPY lands in the image (absolute paths), by Docker's rules: a
 * file source goes to dest itself, or into it when dest ends with "/" or there are several
 * sources; a directory source's contents go into dest.
 */
export function copiedFiles (copy: DockerCopy): Array<{ file: string, to: string }> {
  const dest = posix.isAbsolute(copy.dest) ? copy.dest : posix.join(copy.workdir, copy.dest)
  const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1
  return copy.sources.flatMap((source) => {
    const src = posix.normalize(source.path).replace(/\/$/, '')
    if (source.files.length === 1 && source.files[0] === src) {
      return [{ file: src, to: intoDir ? posix.join(dest, posix.basename(src)) : dest }]
    }
    return source.files.map((file) => ({ file, to: posix.join(dest, file.slice(src.length + 1)) }))
  })
}

/** The image's environment as a map (ENV instructions, as BuildKit computed them). */
export function imageEnv (report: DockerfileReport): Record<string, string> {
  return Object.fromEntries((report.image.config.Env ?? []).map((e) => {
    const at = e.indexOf('=')
    return [e.slice(0, at), e.slice(at + 1)]
  }))
}

/** The directory nginx serves the page from: the `root` of the environment file the nginx image writes. */
export function nginxWebRoot (): string {
  const env = image('nginx').stages.at(-1)?.copies.find((c) => c.dest === '/etc/nginx/env.d/container.conf')
  const dir = /^\s*root\s+([^;]+);/m.exec(env?.inline?.[0]?.data ?? '')?.[1]
  if (dir === undefined) throw new Error('nginx/Dockerfile writes no env.d/container.conf with a root')
  return dir
}

/** The Shortwave image an image reference names (shortwave/<name>, any registry or tag). */
export function imageOf (ref: string): ImageName | undefined {
  const match = /(?:^|\/)shortwave\/([a-z0-9-]+)(?::[^/]*)?$/.exec(ref)
  return match && match[1]! in IMAGES ? match[1] as ImageName : undefined
}

// ---------------------------------------------------------------- compose

export interface ComposeService {
  image?: string
  build?: { context: string, dockerfile: string, args?: Record<string, string> }
  command?: string[] | null
  entrypoint?: string[] | null
  environment?: Record<string, string | null>
  depends_on?: Record<string, { condition: string, required: boolean }>
  healthcheck?: { test?: string[], disable?: boolean }
  deploy?: { replicas?: number, resources?: { limits?: { cpus?: number, memory?: string } } }
  ports?: Array<{ target: number, published: string }>
  networks?: Record<string, { ipv4_address?: string } | null>
  volumes?: Array<{ type: string, source: string, target: string }>
  restart?: string
  read_only?: boolean
  cap_drop?: string[]
  stop_grace_period?: string
  container_name?: string
  tmpfs?: string[]
}
export interface ComposeProject {
  name: string
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
  networks?: Record<string, { internal?: boolean }>
}

let composeCache: ComposeProject | undefined
export function composeProject (): ComposeProject {
  composeCache ??= JSON.parse(mustRun('compose-check', ['compose.yaml'])) as ComposeProject
  return composeCache
}

// ---------------------------------------------------------------- Kubernetes

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string> }
  // The tests read deep into specs of many kinds; they check shapes as they go.
  spec?: any
  data?: Record<string, string>
  stringData?: Record<string, string>
}

const renders = new Map<string, K8sObject[]>()

/** kustomize build <dir>, then kubevalidate (strict API types) on the result; throws on either failure. */
export function render (dir: string): K8sObject[] {
  let objects = renders.get(dir)
  if (!objects) {
    const yaml = mustRun('kustomize', ['build', dir])
    objects = JSON.parse(mustRun('kubevalidate', ['-json', '-'], yaml)) as K8sObject[]
    renders.set(dir, objects)
  }
  return objects
}

export const OVERLAYS = ['k8s/overlays/dev', 'k8s/overlays/prod'] as const

export function find (objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`)
  return found
}

/** Workloads with a pod template, with the template. */
export function podTemplates (objects: K8sObject[]): Array<{ owner: K8sObject, pod: any }> {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))
    .map((owner) => ({ owner, pod: owner.spec.template }))
}

/** The value kubelet would give an env var from a fieldRef or resourceFieldRef (placeholders). */
const FIELD_PLACEHOLDERS: Record<string, string> = {
  'metadata.name': 'pod-0',
  'metadata.namespace': 'shortwave',
  'status.podIP': '10.1.2.3',
  'spec.nodeName': 'node-1'
}

/**
 * The environment a container starts with: envFrom ConfigMaps and Secrets resolved against the
 * rendered objects, then env entries. Secrets that are not rendered (prod keeps them out of git)
 * resolve through `secretKeys` to a placeholder per key.
 */
export function containerEnv (objects: K8sObject[], container: any, secretKeys: Record<string, string[]> = {}): {
  env: Record<string, string>
  names: string[]
} {
  const env: Record<string, string> = {}
  const names: string[] = []
  const set = (name: string, value: string): void => { env[name] = value; names.push(name) }
  const secretData = (name: string): Record<string, string> => {
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name)
    if (secret) {
      const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
      return { ...decoded, ...secret.stringData }
    }
    const keys = secretKeys[name]
    if (!keys) throw new Error(`Secret ${name} is neither rendered nor a known template`)
    return Object.fromEntries(keys.map((k) => [k, `placeholder-${k.toLowerCase()}`]))
  }
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = find(objects, 'ConfigMap', from.configMapRef.name)
      for (const [k, v] of Object.entries(cm.data ?? {})) set(`${from.prefix ?? ''}${k}`, v)
    } else if (from.secretRef) {
      for (const [k, v] of Object.entries(secretData(from.secretRef.name))) set(`${from.prefix ?? ''}${k}`, v)
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) set(e.name, e.value)
    else if (e.valueFrom?.configMapKeyRef) set(e.name, find(objects, 'ConfigMap', e.valueFrom.configMapKeyRef.name).data?.[e.valueFrom.configMapKeyRef.key] ?? '')
    else if (e.valueFrom?.secretKeyRef) set(e.name, secretData(e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key] ?? '')
    else if (e.valueFrom?.fieldRef) set(e.name, FIELD_PLACEHOLDERS[e.valueFrom.fieldRef.fieldPath] ?? 'placeholder')
    else set(e.name, '')
  }
  return { env, names }
}

/** Keys of the Secret templates in the base (what the prod overlay expects to exist in-cluster). */
export function secretTemplates (): Record<string, string[]> {
  return Object.fromEntries(render('k8s/base')
    .filter((o) => o.kind === 'Secret')
    .map((o) => [o.metadata.name, [...Object.keys(o.stringData ?? {}), ...Object.keys(o.data ?? {})]]))
}

// ---------------------------------------------------------------- programs and their configuration

/**
 * The program a `node <file>` command line runs in an image, relative to the workspace root
 * (/app) whatever the working directory; undefined for anything else.
 */
export function nodeProgram (argv: string[] | null | undefined, workdir: string): string | undefined {
  if (!argv || argv[0] !== 'node') return undefined
  const file = argv.slice(1).find((a) => !a.startsWith('-'))
  return file === undefined ? undefined : posix.relative('/app', posix.resolve(workdir, file))
}

/** Each program the images run (relative to /app), and the module whose `configSchema` is its whole environment. */
export const PROGRAM_CONFIG: Record<string, string> = {
  'create-service/src/server.ts': 'create-service/src/config.ts',
  'redirect-service/src/server.ts': 'redirect-service/src/config.ts',
  'key-worker/src/server.ts': 'key-worker/src/config.ts',
  'event-worker/src/server.ts': 'event-worker/src/config.ts',
  'common/src/cassandra/migrate-cli.ts': 'common/src/cassandra/migrate-config.ts'
}
