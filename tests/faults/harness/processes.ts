// The processes the expensive fault suites break on purpose: the services as separate Node
// processes (so they can be SIGKILLed and SIGTERMed like in production), private redis-servers,
// and the throw-away Cassandra nodes of scripts/cluster.sh. All of them are declared
// (tests/faults/processes.yaml, infra/cassandra/<profile>.yaml) and run by process-compose, the
// repository's one supervisor; this file only asks it, through the REST API on its unix socket.
// After cassandraNodes(profile), a file's services and Redis run in that profile's server, beside
// its nodes (so `scripts/cluster.sh down` ends whatever a failed run left); without, in a server of
// the file's own. Nothing here touches the shared local stack of scripts/infra.sh.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const CLUSTER_SCRIPT = join(ROOT, 'scripts', 'cluster.sh')
const RUN_DIR = process.env['SW_RUN_DIR'] ?? join(ROOT, '.run')
const PC_BIN = join(ROOT, '.cache', 'tools', 'bin', 'process-compose')
const DECLARED = join('tests', 'faults', 'processes.yaml')

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One long-running declared process that can be started again after it died or was stopped. */
export interface Managed {
  name: string
  port: number
  /** Starts the process and resolves once it is ready. */
  start: () => Promise<void>
  /** Sends a signal to the running process (SIGSTOP, SIGCONT, …). */
  signal: (signal: NodeJS.Signals) => void
  /** SIGKILL, resolved once the process is gone. */
  crash: () => Promise<Exit>
  /** SIGTERM, resolved with how the process ended (a graceful stop exits 0). */
  stop: () => Promise<Exit>
  running: () => boolean
}

/** What process-compose reports of a process (GET /process/{name}). */
interface State { status: string, pid: number, exit_code: number }
const ALIVE = ['Launching', 'Launched', 'Running', 'Terminating', 'Pending', 'Restarting']

/** A process-compose server: its socket and the env files of tests/faults/processes.yaml are in `dir`. */
interface Server {
  dir: string
  api: (method: string, path: string) => Promise<string>
  /** Starts a declared process; resolves once process-compose reports it running. */
  start: (name: string) => Promise<State>
  state: (name: string) => Promise<State>
  /** Called after a process ended: a file's own server ends once none of its processes runs. */
  release: () => Promise<void>
}

const live = (srv: Pick<Server, 'api'>): Promise<boolean> => srv.api('GET', '/live').then(() => true, () => false)

function server (dir: string, own?: { launch: (name: string) => Promise<void>, release: () => Promise<void> }): Server {
  const socketPath = join(dir, 'process-compose.sock')
  const api = (method: string, path: string): Promise<string> => new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => res.statusCode === 200 ? resolve(body) : reject(new Error(`process-compose ${method} ${path}: ${res.statusCode} ${body}`)))
    })
    req.on('error', reject)
    req.end()
  })
  const state = async (name: string): Promise<State> => JSON.parse(await api('GET', `/process/${name}`)) as State
  // Two processes may be started at once while the server is still coming up: one launches it.
  let launching: Promise<void> | undefined
  return {
    dir,
    api,
    state,
    release: own?.release ?? (async () => {}),
    async start (name) {
      const alive = launching !== undefined || await live({ api })
      if (!alive && launching === undefined) {
        if (own === undefined) throw new Error(`no process-compose server in ${dir}: scripts/cluster.sh up starts it`)
        launching = own.launch(name).finally(() => { launching = undefined })
        await launching
      } else {
        await launching?.catch(() => {})
        await api('POST', `/process/start/${name}`)
      }
      const deadline = Date.now() + 10_000
      for (;;) {
        const s = await state(name)
        if (s.status === 'Running' && s.pid > 0) return s
        if (Date.now() > deadline) throw new Error(`${name} did not start (process-compose: ${s.status}, exit code ${s.exit_code})`)
        await sleep(20)
      }
    }
  }
}

/**
 * A server of the test file's own, for files that start no Cassandra nodes. It is kept while
 * nothing runs (so a stopped process's exit code can still be read) and ended by release() once
 * none of its processes runs: a Vitest worker ends without an 'exit' event to end it then.
 */
function ownServer (): Server {
  const dir = join(RUN_DIR, 'processes', String(process.pid))
  const args = ['-U', '-u', join(dir, 'process-compose.sock'), '-L', join(dir, 'process-compose.log')]
  const env = { ...process.env, SW_PROCS_DIR: join(dir, 'procs'), XDG_CONFIG_HOME: dir, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH']}` }
  const srv: Server = server(dir, {
    async launch (name) {
      // The server outlives this call: it must not hold a pipe of ours.
      const up = spawn(PC_BIN, [...args, 'up', '-D', '--keep-project', '-t=false', '--disable-dotenv', '--no-deps', '-f', DECLARED, name], { cwd: ROOT, env, stdio: 'ignore' })
      const [code] = await once(up, 'exit') as [number | null]
      if (code !== 0) throw new Error(`process-compose up failed (exit ${code}); see ${join(dir, 'process-compose.log')}`)
      // `up -D` returns before the server listens.
      for (const deadline = Date.now() + 10_000; !await live(srv); await sleep(20)) {
        if (Date.now() > deadline) throw new Error(`process-compose did not come up; see ${join(dir, 'process-compose.log')}`)
      }
    },
    async release () {
      const states = JSON.parse(await srv.api('GET', '/processes')) as { data: State[] }
      if (states.data.some((s) => ALIVE.includes(s.status))) return
      await srv.api('POST', '/project/stop').catch(() => {})
      for (const deadline = Date.now() + 10_000; await live(srv) && Date.now() < deadline;) await sleep(50)
      rmSync(dir, { recursive: true, force: true })
    }
  })
  return srv
}

let profileServer: Server | undefined
let fileServer: Server | undefined
const current = (): Server => profileServer ?? (fileServer ??= ownServer())

/** Declared process -> the pid process-compose reported when it started it, while it runs. */
const running = new Map<string, number>()
/**
 * How many stop() or crash() calls are still waiting for their process to end. The file's own
 * server is ended only when none is: two services stopped at once both end, and the first to see
 * its process gone must not stop the server while the other still waits for its answer.
 */
let waiting = 0

interface ManagedOptions {
  name: string
  /** The process of tests/faults/processes.yaml it runs. */
  process: string
  port: number
  /** The declared process's environment for this start (its env file). */
  env: Record<string, string>
  logFile: string
  ready: () => Promise<boolean>
  readyTimeoutMs?: number
}

/** A signal to a pid that may have ended by itself meanwhile (then there is nothing to signal). */
function kill (pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

const quoted = (value: string): string => `'${value.replaceAll('\'', '\'\\\'\'')}'`

function managed (opts: ManagedOptions): Managed {
  let lastExit: Exit = { code: null, signal: null }
  mkdirSync(dirname(opts.logFile), { recursive: true })

  /**
   * Waits until process-compose reports the process gone; `signal` is what ended it if it did not
   * exit. Called once for each `waiting++` of the caller.
   */
  async function gone (signal: () => NodeJS.Signals): Promise<Exit> {
    try {
      for (;;) {
        const s = await current().state(opts.process)
        if (!ALIVE.includes(s.status)) {
          running.delete(opts.process)
          lastExit = s.exit_code >= 0 ? { code: s.exit_code, signal: null } : { code: null, signal: signal() }
          break
        }
        await sleep(20)
      }
    } finally {
      waiting--
    }
    if (waiting === 0) await current().release()
    return lastExit
  }

  return {
    name: opts.name,
    port: opts.port,
    running: () => running.has(opts.process),
    async start () {
      if (running.has(opts.process)) throw new Error(`${opts.name} is already running`)
      const srv = current()
      mkdirSync(join(srv.dir, 'procs'), { recursive: true })
      const env = { ...opts.env, LOG_FILE: opts.logFile }
      writeFileSync(join(srv.dir, 'procs', `${opts.process}.env`), Object.entries(env).map(([k, v]) => `${k}=${quoted(v)}\n`).join(''))
      appendFileSync(opts.logFile, `\n===== ${opts.name} start ${new Date().toISOString()} =====\n`)
      running.set(opts.process, (await srv.start(opts.process)).pid)
      const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
      while (!await opts.ready().catch(() => false)) {
        if (!ALIVE.includes((await srv.state(opts.process)).status)) {
          running.delete(opts.process)
          throw new Error(`${opts.name} exited during start-up; see ${opts.logFile}`)
        }
        if (Date.now() > deadline) throw new Error(`${opts.name} was not ready in time; see ${opts.logFile}`)
        await sleep(100)
      }
    },
    signal (signal) {
      const pid = running.get(opts.process)
      if (pid !== undefined) kill(pid, signal)
    },
    async crash () {
      const pid = running.get(opts.process)
      if (pid === undefined) return lastExit
      waiting++
      try {
        kill(pid, 'SIGKILL')
      } catch (error) {
        waiting--
        throw error
      }
      return await gone(() => 'SIGKILL')
    },
    async stop () {
      if (!running.has(opts.process)) return lastExit
      const began = Date.now()
      waiting++
      // Answers once the process is gone: SIGTERM, SIGKILL after the declared 15 s. Refused if
      // it has ended by itself; gone() then reports how.
      await current().api('PATCH', `/process/stop/${opts.process}`).catch(() => {})
      return await gone(() => Date.now() - began < 15_000 ? 'SIGTERM' : 'SIGKILL')
    }
  }
}

async function httpOk (url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
  await response.arrayBuffer()
  return response.ok
}

export interface ServiceOptions {
  /** Its name in the suite and its log file's. */
  name: string
  /** The process of tests/faults/processes.yaml it runs (key-worker, create-service-N, redirect-service-N), if not `name`. */
  process?: string
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
    process: opts.process ?? opts.name,
    port: opts.port,
    env: { ...opts.env, HOST: '127.0.0.1', PORT: String(opts.port) },
    logFile: join(opts.logDir, `${opts.name}.log`),
    ready: () => httpOk(`http://127.0.0.1:${opts.port}${opts.readyPath ?? '/readyz'}`)
  })
}

/**
 * A redis-server of the suite's own (redis or redis-replica of tests/faults/processes.yaml), without
 * persistence, restartable on the same port; with `replicaOf`, a replica of the redis-server on that port.
 */
export function redisServer (port: number, logDir: string, opts: { name?: string, replicaOf?: number } = {}): Managed & { url: string } {
  const name = opts.name ?? 'redis'
  const server = managed({
    name,
    process: name,
    port,
    env: { PORT: String(port), REPLICAOF: opts.replicaOf === undefined ? '' : `--replicaof 127.0.0.1 ${opts.replicaOf}` },
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

/**
 * A Prometheus of the suite's own (prometheus of tests/faults/processes.yaml) with the file's
 * configuration and a data directory of its own; ready when its /-/ready answers.
 */
export function prometheusServer (port: number, logDir: string, opts: { config: string, data: string }): Managed & { url: string } {
  const server = managed({
    name: 'prometheus',
    process: 'prometheus',
    port,
    env: { PORT: String(port), CONFIG: opts.config, DATA: opts.data },
    logFile: join(logDir, 'prometheus.log'),
    ready: () => httpOk(`http://127.0.0.1:${port}/-/ready`)
  })
  return { ...server, url: `http://127.0.0.1:${port}` }
}

/** scripts/cluster.sh for one profile: the suite's own Cassandra nodes, and the server the file's processes run in. */
export function cassandraNodes (profile: 'faults' | 'cluster') {
  profileServer = server(join(RUN_DIR, profile))
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
