// A stable address in front of a server that can move, as a managed Redis's endpoint or a
// Kubernetes Service is: clients keep one URL, and a failover re-points the proxy and drops the
// open connections, so every client reconnects to the new server. It can also hold back what the
// server sends, as a stalled network link does (a replica falling behind its primary).
import { connect, createServer, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  url: (scheme: string) => string
  /** Sends new connections to `port` and closes the open ones. */
  retarget: (port: number) => void
  /** Stops passing on what the server sends, on every open connection (the client sees nothing more). */
  holdReplies: () => void
  close: () => Promise<void>
}

export async function startTcpProxy (targetPort: number): Promise<TcpProxy> {
  let target = targetPort
  const open = new Set<Socket>()
  const pairs = new Set<{ client: Socket, upstream: Socket }>()
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      // Either side gone: the other goes too, as a dropped connection would.
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    const pair = { client, upstream }
    pairs.add(pair)
    client.pipe(upstream).pipe(client)
    client.on('close', () => { upstream.destroy(); pairs.delete(pair) })
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const dropAll = (): void => { for (const socket of open) socket.destroy() }
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    retarget (next) {
      target = next
      dropAll()
    },
    holdReplies () {
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client)
        upstream.pause()
      }
    },
    async close () {
      dropAll()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
