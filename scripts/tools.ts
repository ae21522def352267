// The pinned tools the load tests, the benchmark, the deploy checks and the fuzzer need, built or
// installed into .cache/ (git-ignored) on first use. Every run may start on a fresh machine, so each
// one installs what is missing and is quick and silent when everything is current.
//
//   node scripts/tools.ts k6 | schemathesis | wrk | jaeger | nginx-exporter | jmx-exporter ...
//                                                   ensure each, print its path (one a line)
//
// The bootstrap (Debian packages, Cassandra jars, node_modules) is scripts/ensure-tools.sh: it has
// to run before node_modules, and with it the pinned Node 24, exists.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process'
import { constants } from 'node:os'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CACHE = join(ROOT, '.cache')
export const BIN = join(CACHE, 'tools/bin')

export function log (tag: string, message: string): void {
  process.stderr.write(`[shortwave ${tag}] ${message}\n`)
}

export class ToolError extends Error {}

/** Runs a command to completion with its output going to `logFile`; throws with the log's tail on failure. */
export function run (cmd: string, args: string[], logFile: string): void {
  mkdirSync(dirname(logFile), { recursive: true })
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' })
  writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`)
  if (r.status !== 0) {
    const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n')
    throw new ToolError(`${cmd} ${args.join(' ')} failed (exit ${r.status}); ${relative(ROOT, logFile)}:\n${tail}`)
  }
}

/**
 * Runs a command in the foreground and waits for it, as a shell would: Ctrl-C reaches it from the
 * terminal (forwarding it again would make k6 abort without its summary), SIGTERM is passed on.
 */
export function foreground (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, quiet = false): Promise<number> {
  const stdio: StdioOptions = ['inherit', quiet ? 'ignore' : 'inherit', 'inherit']
  const child = spawn(cmd, args, { cwd: ROOT, stdio, env: { ...process.env, ...env } })
  const wait = (): void => {}
  const forward = (): void => { child.kill('SIGTERM') }
  process.on('SIGINT', wait).on('SIGTERM', forward)
  return new Promise((resolve) => {
    // A command that cannot be started (not installed) ends like a shell's: 127.
    child.on('error', () => { process.off('SIGINT', wait).off('SIGTERM', forward); resolve(127) })
    child.on('close', (code, signal) => {
      process.off('SIGINT', wait).off('SIGTERM', forward)
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))
    })
  })
}

export function sha256 (...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}

const hasCommand = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0

/** apt-get install, as root or through sudo, without letting the packages start their services. */
export function aptInstall (packages: string[], tag: string): void {
  log(tag, `installing Debian packages: ${packages.join(' ')}`)
  const root = process.getuid?.() === 0
  if (!root && !hasCommand('sudo')) throw new ToolError(`need root (or sudo) to apt-get install ${packages.join(' ')}`)
  const script = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"'
  run(root ? 'sh' : 'sudo', [...(root ? [] : ['sh']), '-c', script, 'apt', ...packages], join(CACHE, `apt-${tag}.log`))
}

// ---------------------------------------------------------------- Go builds

export interface GoTool {
  name: string
  /** The module directory, relative to the repository. */
  dir: string
  /** What `go build` builds there: the module's own main package, or a pinned tool. */
  pkg: string
  /** Everything the binary is built from; a change rebuilds it. */
  stamp: () => string
  env?: NodeJS.ProcessEnv
}

/** The machine's Go toolchain; Debian's golang, or the tarball from go.dev in /usr/local/go. */
export function goCommand (): string {
  if (hasCommand('go')) return 'go'
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go'
  throw new ToolError('no Go toolchain on PATH or in /usr/local/go (https://go.dev/dl)')
}

/** Builds a pinned Go module into .cache/tools/bin unless that exact build is there; resolves to its path. */
export async function goBuild (tool: GoTool): Promise<string> {
  const bin = join(BIN, tool.name)
  const stamp = tool.stamp()
  if (existsSync(bin) && existsSync(`${bin}.stamp`) && readFileSync(`${bin}.stamp`, 'utf8').trim() === stamp) return bin
  log(tool.name, `building ${tool.name} (${tool.dir}), a few minutes the first time`)
  const started = Date.now()
  mkdirSync(BIN, { recursive: true })
  const logFile = `${bin}.log`
  const env = {
    ...process.env,
    GOPROXY: process.env.GOPROXY || 'https://proxy.golang.org',
    GOMODCACHE: join(CACHE, 'go/mod'),
    GOCACHE: join(CACHE, 'go/build'),
    // The versions are the pinned go.sum's; never a newer toolchain.
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    ...tool.env
  }
  const args = ['build', '-trimpath', '-ldflags=-s -w', '-o', `${bin}.tmp`, tool.pkg]
  // Asynchronous so that several builds can share the cores (deploy-check builds four at once).
  const output = await new Promise<{ code: number | null, text: string }>((resolve) => {
    const child = spawn(goCommand(), args, { cwd: join(ROOT, tool.dir), env, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (d: Buffer) => { text += d.toString() })
    child.stderr.on('data', (d: Buffer) => { text += d.toString() })
    child.on('error', (e) => resolve({ code: -1, text: text + String(e) }))
    child.on('close', (code) => resolve({ code, text }))
  })
  writeFileSync(logFile, output.text)
  if (output.code !== 0) {
    throw new ToolError(`go build of ${tool.name} failed; ${relative(ROOT, logFile)}:\n${output.text.split('\n').slice(-30).join('\n')}`)
  }
  renameSync(`${bin}.tmp`, bin)
  writeFileSync(`${bin}.stamp`, `${stamp}\n`)
  log(tool.name, `built in ${((Date.now() - started) / 1000).toFixed(0)}s`)
  return bin
}

const read = (path: string): Buffer => readFileSync(join(ROOT, path))

/** A main package built from a go.mod of ours in `dir`, which with its go.sum pins every version. */
const pinnedModule = (name: string, dir: string, pkg: string): GoTool => ({
  name,
  dir,
  pkg,
  // go.mod and go.sum, as k6's stamp has always been, so a k6 built before this helper is reused.
  stamp: () => sha256(read(`${dir}/go.mod`), read(`${dir}/go.sum`)),
  env: { GOFLAGS: '-mod=mod' }
})

// Why a go.mod and not `go install go.k6.io/k6/v2@v2.2.0`: that insists on the module proxy's
// version list, which is missing for this module; a pinned go.mod needs only the module zips.
export const K6 = pinnedModule('k6', 'load-tests/k6-build', 'go.k6.io/k6/v2')

// The local observability stack's Go programs (scripts/observe.sh, process-compose.yaml), from
// go.mods of ours for the same reason: `go install …@version` needs the version list, missing for
// the nginx exporter too, and refuses Jaeger outright, whose own go.mod has a replace directive.

/** Jaeger v1 all-in-one, Apache-2.0: v1.75.0 exactly (newer ones are served but are not approved releases). */
export const JAEGER = pinnedModule('jaeger-all-in-one', 'observability/jaeger-build', 'github.com/jaegertracing/jaeger/cmd/all-in-one')
/** nginx/nginx-prometheus-exporter v1.5.1, Apache-2.0. */
export const NGINX_EXPORTER = pinnedModule('nginx-prometheus-exporter', 'observability/nginx-exporter-build', 'github.com/nginx/nginx-prometheus-exporter')

/** The Prometheus JMX exporter's standalone HTTP server (io.prometheus.jmx, Apache-2.0), a jar from Maven Central. */
const JMX_EXPORTER = 'io.prometheus.jmx:jmx_prometheus_httpserver:1.0.1'

/** The JDK 17 of the stack (scripts/lib.sh find_java17): Maven runs on it. */
function java17 (): string {
  const found = process.env['SW_JAVA_HOME'] ??
    spawnSync('sh', ['-c', 'ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -n 1'], { encoding: 'utf8' }).stdout.trim()
  if (found === '') throw new ToolError('no JDK 17 under /usr/lib/jvm (bash scripts/ensure-tools.sh system installs it; or set SW_JAVA_HOME)')
  return found
}

/** The JMX exporter's jar in .cache/tools/, fetched by Maven (checksums enforced) unless that version is there. */
export function ensureJmxExporter (): string {
  const jar = join(CACHE, 'tools/jmx_prometheus_httpserver.jar')
  if (existsSync(jar) && existsSync(`${jar}.stamp`) && readFileSync(`${jar}.stamp`, 'utf8').trim() === JMX_EXPORTER) return jar
  if (!hasCommand('mvn')) aptInstall(['maven'], 'jmx-exporter')
  log('jmx-exporter', `fetching ${JMX_EXPORTER} from Maven Central`)
  const dir = join(CACHE, 'tools/jmx-exporter.tmp')
  rmSync(dir, { recursive: true, force: true })
  run('env', [`JAVA_HOME=${java17()}`, 'mvn', '-B', '-ntp', '-q', '-C', 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy',
    `-Dartifact=${JMX_EXPORTER}`, `-DoutputDirectory=${dir}`, '-Dmdep.stripVersion=true', `-Dmaven.repo.local=${join(CACHE, 'm2')}`],
  join(CACHE, 'tools/jmx-exporter.log'))
  renameSync(join(dir, 'jmx_prometheus_httpserver.jar'), jar)
  rmSync(dir, { recursive: true, force: true })
  writeFileSync(`${jar}.stamp`, `${JMX_EXPORTER}\n`)
  return jar
}

// ---------------------------------------------------------------- the rest

const SCHEMATHESIS_VERSION = '4.32.5'

/** The schemathesis CLI (PyPI) in a venv under .cache/, reinstalled when it is another version. */
export function ensureSchemathesis (): string {
  const venv = join(CACHE, 'schemathesis-venv')
  const bin = join(venv, 'bin/schemathesis')
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? ''
  if (version.includes(SCHEMATHESIS_VERSION)) return bin
  if (!hasCommand('python3')) throw new ToolError('python3 is missing (Debian: apt-get install python3 python3-venv)')
  if (spawnSync('python3', ['-c', 'import venv, ensurepip']).status !== 0) aptInstall(['python3-venv'], 'schemathesis')
  log('schemathesis', `installing schemathesis ${SCHEMATHESIS_VERSION} into ${relative(ROOT, venv)}`)
  const logFile = join(CACHE, 'schemathesis-pip.log')
  run('rm', ['-rf', venv], logFile)
  run('python3', ['-m', 'venv', venv], logFile)
  run(join(venv, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], logFile)
  return bin
}

/** wrk, for the benchmark: Debian's. */
export function ensureWrk (): string {
  if (!hasCommand('wrk')) aptInstall(['wrk'], 'wrk')
  return 'wrk'
}

const TOOLS = 'k6 schemathesis wrk jaeger nginx-exporter jmx-exporter'

export async function ensure (name: string): Promise<string> {
  switch (name) {
    case 'k6': return await goBuild(K6)
    case 'schemathesis': return ensureSchemathesis()
    case 'wrk': return ensureWrk()
    case 'jaeger': return await goBuild(JAEGER)
    case 'nginx-exporter': return await goBuild(NGINX_EXPORTER)
    case 'jmx-exporter': return ensureJmxExporter()
    default: throw new ToolError(`unknown tool '${name}' (expected: ${TOOLS})`)
  }
}

/** Runs main, turning a ToolError into a one-line message and exit 1. */
export function cli (tag: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (!(error instanceof ToolError)) throw error
    log(tag, `ERROR: ${error.message}`)
    process.exitCode = 1
  })
}

if (import.meta.main) {
  cli('tools', async () => {
    if (process.argv.length < 3) throw new ToolError(`usage: node scripts/tools.ts NAME... (${TOOLS})`)
    for (const name of process.argv.slice(2)) console.log(await ensure(name))
  })
}
