// The processes the expensive fault suites break on purpose: the services as separate Node
// processes (so they can be SIGKILLed and SIGTERMed like in production), a private redis-server,
// and the throw-away Cassandra nodes of scripts/cluster.sh. Nothing here touches the shared
// local stack of scripts/infra.sh.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const CLUSTER_SCRIPT = join(ROOT, 'scripts', 'cluster.sh')

const children = new Set<ChildProcess>()
// A test that dies half-way must not leave services or Redis behind.
process.once('exit', () => { for (const child of children) child.kill('SIGKILL') })

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One long-running child process that can be started again after it died or was stopped. */
export interface Managed {
  name: string
  port: number
  /** Spawns the process and resolves once it is ready. */
  start: () => Promise<void>
  /** Sends a signal to the running process (SIGSTOP, SIGCONT, …). */
  signal: (signal: NodeJS.Signals) => void
  /** SIGKILL, resolved once the process is gone. */
  crash: () => Promise<Exit>
  /** SIGTERM, resolved with how the process ended (a graceful stop exits 0). */
  stop: () => Promise<Exit>
  running: () => boolean
}

interface ManagedOptions {
  name: string
  port: number
  command: string
  args: string[]
  env?: Record<string, string>
  logFile: string
  ready: () => Promise<boolean>
  readyTimeoutMs?: number
}

function managed (opts: ManagedOptions): Managed {
  let child: ChildProcess | null = null
  let exit: Promise<Exit> = Promise.resolve({ code: null, signal: null })
  mkdirSync(dirname(opts.logFile), { recursive: true })
  const log = createWriteStream(opts.logFile, { flags: 'a' })

  const running = (): boolean => child !== null && child.exitCode === null && child.signalCode === null

  async function end (signal: NodeJS.Signals): Promise<Exit> {
    if (!running()) return exit
    child!.kill(signal)
    return exit
  }

  return {
    name: opts.name,
    port: opts.port,
    running,
    async start () {
      if (running()) throw new Error(`${opts.name} is already running`)
      log.write(`\n===== ${opts.name} start ${new Date().toISOString()} =====\n`)
      const spawned = spawn(opts.command, opts.args, {
        cwd: ROOT,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      child = spawned
      children.add(spawned)
      spawned.stdout!.pipe(log, { end: false })
      spawned.stderr!.pipe(log, { end: false })
      exit = once(spawned, 'exit').then(([code, signal]) => {
        children.delete(spawned)
        return { code: code as number | null, signal: signal as NodeJS.Signals | null }
      })
      const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
      while (!await opts.ready().catch(() => false)) {
        if (!running()) throw new Error(`${opts.name} exited during start-up; see ${opts.logFile}`)
        if (Date.now() > deadline) throw new Error(`${opts.name} was not ready in time; see ${opts.logFile}`)
        await sleep(100)
      }
    },
    signal (signal) {
      if (running()) child!.kill(signal)
    },
    crash: () => end('SIGKILL'),
    stop: () => end('SIGTERM')
  }
}

async function httpOk (url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
  await response.arrayBuffer()
  return response.ok
}

export interface ServiceOptions {
  name: string
  /** Entry file relative to the repository root, e.g. create-service/src/server.ts. */
  entry: string
  port: number
  env: Record<string, string>
  logDir: string
  /** Path answering 200 once the service can serve (default /readyz). */
  readyPath?: string
}

/** A Shortwave service run exactly as in production: `node <service>/src/server.ts`. */
export function service (opts: ServiceOptions): Managed {
  return managed({
    name: opts.name,
    port: opts.port,
    command: process.execPath,
    args: [join(ROOT, opts.entry)],
    env: { ...opts.env, HOST: '127.0.0.1', PORT: String(opts.port) },
    logFile: join(opts.logDir, `${opts.name}.log`),
    ready: () => httpOk(`http://127.0.0.1:${opts.port}${opts.readyPath ?? '/readyz'}`)
  })
}

/**
 * A redis-server of the suite's own, without persistence, restartable on the same port; with
 * `replicaOf`, a replica of the redis-server on that port.
 */
export function redisServer (port: number, logDir: string, opts: { name?: string, replicaOf?: number } = {}): Managed & { url: string } {
  const name = opts.name ?? 'redis'
  const dir = mkdtempSync(join(tmpdir(), 'sw-faults-redis-'))
  const replica = opts.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(opts.replicaOf)]
  const server = managed({
    name,
    port,
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...replica],
    logFile: join(logDir, `${name}.log`),
    ready: async () => {
      const { connect } = await import('node:net')
      return new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.end('PING\r\n'))
        socket.setTimeout(1000, () => { socket.destroy(); resolve(false) })
        socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('+PONG')) })
        socket.once('error', () => resolve(false))
      })
    }
  })
  return { ...server, url: `redis://127.0.0.1:${port}` }
}

/** scripts/cluster.sh for one profile: the suite's own Cassandra nodes. */
export function cassandraNodes (profile: 'faults' | 'cluster') {
  async function run (...args: string[]): Promise<string> {
    const child = spawn('bash', [CLUSTER_SCRIPT, '--profile', profile, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      process.stdout.write(chunk)
    })
    const [code] = await once(child, 'exit') as [number | null]
    if (code !== 0) throw new Error(`scripts/cluster.sh --profile ${profile} ${args.join(' ')} failed (exit ${code})`)
    return output
  }
  return {
    run,
    up: () => run('up'),
    down: () => run('down'),
    start: (node: number) => run('start', String(node)),
    kill: (node: number) => run('kill', String(node)),
    pause: (node: number) => run('pause', String(node)),
    resume: (node: number) => run('resume', String(node)),
    nodetool: (node: number, ...args: string[]) => run('nodetool', String(node), ...args),
    contactPoints: async () => (await run('contact-points')).trim()
  }
}
export type CassandraNodes = ReturnType<typeof cassandraNodes>
