// The fault suites' process harness (tests/faults/harness/processes.ts) as the suites use it: two
// processes of a file's own process-compose server stopped at once, as an afterAll does. The first
// to end must not stop the server while the other still waits for its answer (a CI run failed on
// that race with "socket hang up"), and the server must still be ended once both are gone.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from './nginx/edge.ts'
import { redisServer, ROOT } from './faults/harness/processes.ts'

const logDir = mkdtempSync(join(tmpdir(), 'sw-harness-'))
const serverDir = join(process.env['SW_RUN_DIR'] ?? join(ROOT, '.run'), 'processes', String(process.pid))

afterAll(() => { rmSync(logDir, { recursive: true, force: true }) })

describe('the process harness', () => {
  it('stops two processes at once, reports both exits, and then ends its own server', async () => {
    const primary = redisServer(await freePort(), logDir)
    const replica = redisServer(await freePort(), logDir, { name: 'redis-replica', replicaOf: primary.port })
    for (let round = 0; round < 6; round++) {
      await Promise.all([primary.start(), replica.start()])
      expect(existsSync(serverDir)).toBe(true)
      const exits = await Promise.all([primary.stop(), replica.stop()])
      expect(exits).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }])
      expect([primary.running(), replica.running(), existsSync(serverDir)]).toEqual([false, false, false])
    }
  }, 120_000)
})
