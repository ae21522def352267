// A real HTTP receiver of webhooks on 127.0.0.1 for the tests: every request it gets is recorded
// per path, and each path answers as the test decides (a status, a hang, a huge body, a redirect).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: Record<string, string>
  body: string
  at: number
}

/** How a path answers its n-th request (0-based). */
export type Answer = (n: number, req: IncomingMessage, res: ServerResponse) => void

export const answers = {
  status: (code: number): Answer => (_n, _req, res) => { res.writeHead(code).end('{}') },
  /** `failures` answers of 500, then 200s. */
  flaky: (failures: number): Answer => (n, _req, res) => { res.writeHead(n < failures ? 500 : 200).end() },
  /** Never answers (the connection is left open until the server closes). */
  hang: (): Answer => () => {},
  /** 200 with a body of `bytes` bytes, streamed. */
  huge: (bytes: number): Answer => (_n, _req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    const chunk = Buffer.alloc(65_536, 120)
    let left = bytes
    const more = (): void => {
      while (left > 0) {
        left -= chunk.length
        if (!res.write(chunk)) {
          res.once('drain', more)
          return
        }
      }
      res.end()
    }
    res.on('error', () => {})
    more()
  },
  redirect: (to: string): Answer => (_n, _req, res) => { res.writeHead(302, { location: to }).end() }
}

export async function startReceiver () {
  const received: Received[] = []
  const routes = new Map<string, Answer>()
  const counts = new Map<string, number>()
  let open = 0
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      const path = req.url ?? '/'
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
      received.push({ path, headers, body, at: Date.now() })
      const n = counts.get(path) ?? 0
      counts.set(path, n + 1)
      open++
      res.on('close', () => { open-- })
      ;(routes.get(path) ?? answers.status(200))(n, req, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path: string): string => `http://127.0.0.1:${port}${path}`,
    on: (path: string, answer: Answer): void => { routes.set(path, answer) },
    at: (path: string): Received[] => received.filter((r) => r.path === path),
    /** Requests still waiting for their answer. */
    open: (): number => open,
    async close (): Promise<void> {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>
