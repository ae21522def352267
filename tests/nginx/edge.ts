// A real nginx on the real shared config (nginx/*.conf), assembled like scripts/infra.sh does,
// with a test env file in front of stand-in upstreams. What is under test here is nginx's
// routing, headers, limits and error answers; the services are tested elsewhere.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, createServer as createNetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const WEB_ROOT = join(ROOT, 'web', 'dist')
const SHARED_DIR = join(ROOT, 'nginx')
// Who the workers run as, by the local stack's rule (scripts/lib.sh nginx_user_directive): nobody
// unless nobody cannot reach the web root, as in a checkout under a 0700 `mktemp -d` directory.
const WORKER_USER = execFileSync('bash', ['-c', 'source "$1"; nginx_user_directive "$2"', 'edge', join(ROOT, 'scripts', 'lib.sh'), WEB_ROOT], {
  env: { ...process.env, SW_LOG_TAG: 'test' },
  encoding: 'utf8'
})

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

export async function freePort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A temp prefix with conf/ = the shared nginx/*.conf plus `envFiles` in conf/env.d/. */
export async function assemble (envFiles: Record<string, string>): Promise<{ prefix: string, conf: string }> {
  const prefix = await mkdtemp(join(tmpdir(), 'sw-nginx-'))
  // Workers run as nobody when the tests run as root; they only need to traverse the prefix.
  await chmod(prefix, 0o755)
  const conf = join(prefix, 'conf')
  await mkdir(join(conf, 'env.d'), { recursive: true })
  await mkdir(join(prefix, 'logs'))
  for (const file of await readdir(SHARED_DIR)) {
    if (file.endsWith('.conf')) await copyFile(join(SHARED_DIR, file), join(conf, file))
  }
  for (const [name, text] of Object.entries(envFiles)) await writeFile(join(conf, 'env.d', name), text)
  return { prefix, conf }
}

function nginxArgs (prefix: string, conf: string): string[] {
  return ['-p', `${prefix}/`, '-c', join(conf, 'nginx.conf'), '-g', `daemon off;${WORKER_USER}`]
}

/** `nginx -t` on an assembled conf dir. */
export async function nginxTest (envFiles: Record<string, string>): Promise<{ ok: boolean, output: string }> {
  const { prefix, conf } = await assemble(envFiles)
  try {
    const child = spawn('nginx', [...nginxArgs(prefix, conf), '-t'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    return { ok: code === 0, output }
  } finally {
    await rm(prefix, { recursive: true, force: true })
  }
}

export interface EnvOptions {
  /** The default domain's names, where `/` is the web page (nginx/env/local.conf's map); elsewhere `/` is proxied. */
  pageHosts?: string[]
  port: number
  create: string[]
  redirect: string[]
  /** Appended to every upstream `server` line. */
  serverParams?: string
  /** Zone api: /api/ without an API key, per address. */
  apiRate?: string
  /** Zone api_key: /api/ per API key. */
  apiKeyRate?: string
  /** Zone api_addr: all of /api/ per address. */
  apiAddressRate?: string
  redirectRate?: string
  /** limit_req_zone lines instead of the ones built from the rates above (e.g. localZones()). */
  zones?: string
  /** The percentage of traces nginx marks sampled (split_clients on the trace id); 100 as locally. */
  sampledPercent?: number
}

/** The env's split_clients for a share of sampled traces: nginx takes no "0%", so none is `*` alone. */
function sampling (percent: number): string {
  const parts = percent === 0 ? ['*  00;'] : percent === 100 ? ['100%  01;'] : [`${percent}%  01;`, '*  00;']
  return ['split_clients "$sw_trace_id" $sw_trace_sampled {', ...parts.map((p) => `    ${p}`), '}'].join('\n')
}

/** The limit_req_zone lines of nginx/env/local.conf, verbatim: a test of the real limits runs on them. */
export async function localZones (): Promise<string> {
  const text = await readFile(join(SHARED_DIR, 'env', 'local.conf'), 'utf8')
  return text.split('\n').filter((line) => line.startsWith('limit_req_zone ')).join('\n')
}

/** An env file honouring the contract at the top of nginx/nginx.conf. */
export function testEnv (opts: EnvOptions): string {
  const servers = (addresses: string[]) =>
    addresses.map((address) => `    server ${address} ${opts.serverParams ?? ''};`).join('\n')
  return `
${opts.zones ?? `limit_req_zone $sw_api_anonymous   zone=api:1m      rate=${opts.apiRate ?? '100000r/s'};
limit_req_zone $sw_api_key         zone=api_key:1m  rate=${opts.apiKeyRate ?? '100000r/s'};
limit_req_zone $binary_remote_addr zone=api_addr:1m rate=${opts.apiAddressRate ?? '100000r/s'};
limit_req_zone $binary_remote_addr zone=redirect:1m rate=${opts.redirectRate ?? '100000r/s'};`}
upstream create_service {
${servers(opts.create)}
    keepalive 8;
    keepalive_timeout 4s;
}
upstream redirect_service {
${servers(opts.redirect)}
    keepalive 8;
    keepalive_timeout 4s;
}
map $host $sw_page_host {
    hostnames;
    default   0;
${(opts.pageHosts ?? ['localhost', '127.0.0.1']).map((h) => `    ${h} 1;`).join('\n')}
}
access_log logs/access.log json;
${sampling(opts.sampledPercent ?? 100)}
server {
    listen 127.0.0.1:${opts.port};
    root ${WEB_ROOT};
    include shortwave.conf;
}
`
}

export interface Edge {
  url: string
  port: number
  /** Parsed lines of the JSON access log so far. */
  accessLog: () => Promise<Array<Record<string, unknown>>>
  close: () => Promise<void>
}

/** Starts nginx on a free port with the env file `env(port)`; resolves once it answers. */
export async function startEdge (env: (port: number) => string): Promise<Edge> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const { prefix, conf } = await assemble({ 'test.conf': env(port) })
    const child = spawn('nginx', nginxArgs(prefix, conf), { stdio: ['ignore', 'ignore', 'pipe'] })
    running.add(child)
    let stderr = ''
    child.stderr!.on('data', (chunk) => { stderr += chunk })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const close = async () => {
      running.delete(child)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      await rm(prefix, { recursive: true, force: true })
    }
    const url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && child.exitCode === null) {
      const alive = await send(`${url}/-/nginx`).then((r) => r.status === 200, () => false)
      if (alive) {
        return {
          url,
          port,
          close,
          async accessLog () {
            const text = await readFile(join(prefix, 'logs', 'access.log'), 'utf8')
            return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await close()
    // The free port was taken in between: try another one.
    if (attempt < 3 && stderr.includes('Address already in use')) continue
    throw new Error(`nginx did not start:\n${stderr}`)
  }
}

export interface Response {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export interface SendOptions {
  method?: string
  /** An array sends that header once per value. */
  headers?: Record<string, string | string[]>
  body?: string
  /** Source address of the client (any 127.x.y.z): each one is its own rate-limit bucket. */
  from?: string
}

/** One HTTP request on a fresh connection; resolves with the whole response. */
export function send (url: string, opts: SendOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      localAddress: opts.from,
      agent: false
    }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Writes `raw` on a fresh connection and resolves with everything read until nginx closes it. */
export function sendRaw (port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(raw))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => { text += chunk })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })
}

export interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

export interface StandIn {
  address: string
  received: Received[]
  close: () => Promise<void>
}

/**
 * A stand-in upstream on a random port. It records every request and, by default, answers 200
 * with JSON echoing what it received (plus an X-Request-Id of its own, which nginx must hide).
 * The request header `x-stand-in` picks another behaviour:
 *   `status=<code>`  answer <code> with a service-shaped JSON error (and `retry-after=<s>`,
 *                    `allow=<methods>`)
 *   `hang`           never answer
 *   `drop`           close the connection without answering
 */
export async function startStandIn (name: string): Promise<StandIn> {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    received.push({ method: req.method!, url: req.url!, headers: req.headers })
    const behaviour = new URLSearchParams(String(req.headers['x-stand-in'] ?? '').replaceAll(' ', '&'))
    if (behaviour.has('hang')) return
    if (behaviour.has('drop')) {
      req.socket.destroy()
      return
    }
    const status = Number(behaviour.get('status') ?? 200)
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'from-the-upstream' }
    const retryAfter = behaviour.get('retry-after')
    if (retryAfter !== null) headers['retry-after'] = retryAfter
    const allow = behaviour.get('allow')
    if (allow !== null) headers['allow'] = allow
    const body = status === 200
      ? { name, method: req.method, url: req.url, headers: req.headers }
      : { statusCode: status, error: 'From the service', message: `${name} says ${status}`, code: 'SW_STAND_IN' }
    res.writeHead(status, headers).end(JSON.stringify(body))
  })
  // Longer than nginx's upstream keepalive_timeout (4 s), like the real services (Fastify: 72 s):
  // otherwise nginx may reuse a connection the stand-in is just closing.
  server.keepAliveTimeout = 120_000
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    address: `127.0.0.1:${port}`,
    received,
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T> (check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
