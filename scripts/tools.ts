// The pinned tools the load tests, the benchmark, the deploy checks and the fuzzer need, built or
// installed into .cache/ (git-ignored) on first use. Every run may start on a fresh machine, so each
// one installs what is missing and is quick and silent when everything is current.
//
//   node scripts/tools.ts k6 | schemathesis | wrk ...    ensure each, print its path (one a line)
//
// The bootstrap (Debian packages, Cassandra jars, node_modules) is scripts/ensure-tools.sh: it has
// to run before node_modules, and with it the pinned Node 24, exists.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process'
import { constants } from 'node:os'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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

// Why a go.mod and not `go install go.k6.io/k6/v2@v2.2.0`: that insists on the module proxy's
// version list, which is missing for this module; a pinned go.mod needs only the module zips.
export const K6: GoTool = {
  name: 'k6',
  dir: 'load-tests/k6-build',
  pkg: 'go.k6.io/k6/v2',
  // The same stamp as before the rewrite, so a k6 built then is reused.
  stamp: () => sha256(read('load-tests/k6-build/go.mod'), read('load-tests/k6-build/go.sum')),
  env: { GOFLAGS: '-mod=mod' }
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

export async function ensure (name: string): Promise<string> {
  switch (name) {
    case 'k6': return await goBuild(K6)
    case 'schemathesis': return ensureSchemathesis()
    case 'wrk': return ensureWrk()
    default: throw new ToolError(`unknown tool '${name}' (expected: k6 schemathesis wrk)`)
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
    if (process.argv.length < 3) throw new ToolError('usage: node scripts/tools.ts k6|schemathesis|wrk ...')
    for (const name of process.argv.slice(2)) console.log(await ensure(name))
  })
}
