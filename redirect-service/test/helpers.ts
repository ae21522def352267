import type cassandra from 'cassandra-driver'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { randomBytes } from 'node:crypto'
import net from 'node:net'

export function uniqueKey (prefix = 'rd'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`
}

/** Stores an active link straight in Cassandra, the way create-service does for an alias. */
export async function storeLink (
  client: cassandra.Client,
  key: string,
  url: string,
  expiresAt: Date | null = null
): Promise<void> {
  const stored = await createLinkRepository(client).insertIfAbsent({ key, url, createdAt: new Date(), expiresAt, owner: null }, 'rd-test')
  if (!stored) throw new Error(`key ${key} already exists`)
}

export async function eventually<T> (
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (accept(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export interface RawResponse {
  status: number
  /** Header names (lower-cased) to the exact bytes of their values. */
  headers: Map<string, Buffer>
  body: Buffer
}

/** Sends a request on a plain socket and returns the response bytes as they came off the wire. */
export function rawRequest (
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {}
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      const split = all.indexOf('\r\n\r\n')
      const lines = splitLines(all.subarray(0, split))
      const status = Number(lines[0]!.toString('latin1').split(' ')[1])
      const parsed = new Map<string, Buffer>()
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        parsed.set(line.subarray(0, colon).toString('latin1').toLowerCase(), line.subarray(colon + 1).subarray(line[colon + 1] === 0x20 ? 1 : 0))
      }
      resolve({ status, headers: parsed, body: all.subarray(split + 4) })
    })
    const head = Object.entries({ host: 'localhost', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(`${method} ${path} HTTP/1.1\r\n${head}\r\n`)
  })
}

function splitLines (block: Buffer): Buffer[] {
  const lines: Buffer[] = []
  let start = 0
  for (let i = block.indexOf('\r\n'); i !== -1; i = block.indexOf('\r\n', start)) {
    lines.push(block.subarray(start, i))
    start = i + 2
  }
  lines.push(block.subarray(start))
  return lines
}

/** Sum of a counter's samples in Prometheus text, optionally for one label value. */
export function metricValue (text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

export interface TcpProxy {
  port: number
  /** Closes the listener and cuts every connection: to its clients the server is gone. */
  stop: () => Promise<void>
}

/** A TCP forwarder, so a test can take a dependency away from one client without touching the server. */
export async function startTcpProxy (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    async stop () {
      const closed = new Promise((resolve) => server.close(resolve))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
