import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// scripts/lib.sh thread_states, which stop_pid prints when a process outlives its grace period.
const LIB = resolve(import.meta.dirname, '../../scripts/lib.sh')

function threadStates (pid: number): string {
  return execFileSync('bash', ['-c', 'source "$1"; thread_states "$2"', 'thread-states', LIB, String(pid)], {
    env: { ...process.env, SW_LOG_TAG: 'test' },
    encoding: 'utf8'
  })
}

describe('thread_states (scripts/lib.sh)', () => {
  it('counts the threads of a live process by state, and says when the process is gone', async () => {
    // A Node process has a main thread and several of V8's and libuv's, all asleep here.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      await once(child.stdout, 'data') // running JavaScript: its threads are up
      const states = threadStates(child.pid!)
      expect(states).toMatch(/^main thread [SR]; threads: /)
      const counted = [...states.matchAll(/(\d+) [A-Z]/g)].reduce((sum, m) => sum + Number(m[1]), 0)
      expect(counted).toBeGreaterThan(1)
    } finally {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    expect(threadStates(child.pid!)).toBe('main thread gone; threads: none')
  })
})
