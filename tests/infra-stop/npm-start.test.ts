// `npm start -- --detach` and `npm stop` as a person runs them (scripts/start.sh, stop.sh): the whole
// local stack up on a keyspace an earlier start already migrated, serving through nginx, and then
// nothing of it left running. Stops the shared infra for real, so it runs alone, after the main run.
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const PARTS = ['cassandra', 'redis', 'nginx']
const script = (name: string) => join(ROOT, 'scripts', name)

function run (file: string, args: string[] = []): { ms: number, output: string } {
  const began = Date.now()
  const result = spawnSync('bash', [file, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
  const output = `${result.stdout}${result.stderr}`
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.status}:\n${output}`)
  return { ms: Date.now() - began, output }
}

/** The stack's processes as process-compose reports them, with everything they started. */
function stackProcesses (): Map<number, string> {
  const listed = execFileSync('bash', ['-c', `source ${script('lib.sh')}; pc process list -o json`], { cwd: ROOT, encoding: 'utf8' })
  const roots = new Set((JSON.parse(listed) as Array<{ pid: number, status: string }>)
    .filter((p) => p.status === 'Running').map((p) => p.pid))
  const table = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      return [{ pid: Number(d), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmdline }]
    } catch { return [] } // gone meanwhile
  })
  // The process-compose server itself, found by the socket it serves.
  for (const p of table) if (p.cmdline.includes('process-compose') && p.cmdline.includes(' up ')) roots.add(p.pid)
  const found = new Map<number, string>()
  let grew = true
  while (grew) {
    grew = false
    for (const p of table) {
      if (!found.has(p.pid) && (roots.has(p.pid) || found.has(p.ppid))) { found.set(p.pid, p.cmdline); grew = true }
    }
  }
  return found
}

function alive (pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch { return false }
}

const runningBefore: string[] = []

beforeAll(() => {
  for (const part of PARTS) {
    if (spawnSync('bash', [script('infra.sh'), 'status', part], { cwd: ROOT }).status === 0) runningBefore.push(part)
  }
})

// Whatever ran before (npm test's infra, a developer's warm Cassandra) runs again afterwards.
afterAll(() => {
  if (runningBefore.length > 0) run(script('infra.sh'), ['up', ...runningBefore])
}, 300_000)

describe('npm start and npm stop', () => {
  it('start the whole stack on a migrated keyspace, serving through nginx, and stop leaves no process behind', async () => {
    // The first start migrates if the keyspace is new; the second is the warm start people repeat.
    run(script('start.sh'), ['--detach'])
    run(script('stop.sh'))
    const warm = run(script('start.sh'), ['--detach'])
    expect(warm.output).toContain('Shortwave is up')
    const steps = warm.output.split('\n').filter((line) => line.includes('ready in')).join('\n')
    console.log(`npm start, keyspace migrated and Cassandra's data on disk: up in ${(warm.ms / 1000).toFixed(1)} s\n${steps}`)

    const port = /http:\/\/localhost:(\d+)/.exec(warm.output)![1]
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/links`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/npm-start' })
    })
    expect(created.status).toBe(201)
    const { key } = await created.json() as { key: string }
    const followed = await fetch(`http://127.0.0.1:${port}/${key}`, { redirect: 'manual' })
    expect(followed.status).toBe(302)
    expect(followed.headers.get('location')).toBe('https://example.com/npm-start')

    const processes = stackProcesses()
    // Cassandra, Redis, nginx (master and workers), four services and the process-compose server.
    expect(processes.size).toBeGreaterThanOrEqual(9)
    run(script('stop.sh'))
    const left = [...processes].filter(([pid]) => alive(pid)).map(([pid, cmd]) => `${pid} ${cmd}`)
    expect(left).toEqual([])
    expect(spawnSync('bash', [script('infra.sh'), 'status'], { cwd: ROOT }).status).not.toBe(0)
  }, 600_000)
})
