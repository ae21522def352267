// A Redis server of the test's own, so a test can kill and restart it without disturbing the
// shared one other test files use.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

export interface PrivateRedis {
  url: string
  start: () => Promise<void>
  kill: () => Promise<void>
}

export async function privateRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sw-redis-'))
  let child: ChildProcess | null = null
  return {
    url: `redis://127.0.0.1:${port}`,
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      let output = ''
      child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
      const deadline = Date.now() + 10_000
      while (!output.includes('Ready to accept connections')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start: ${output}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async kill () {
      if (!child || child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  }
}
