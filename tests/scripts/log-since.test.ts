import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// scripts/lib.sh log_since, as infra/cassandra/ready.sh and scripts/cluster.sh read what a Cassandra
// node logged since it started: from the size its system.log had then, or from the beginning when
// the log rolled over since (the node then never read as ready: npm run bench, 2026-12-06 04:25).
const LIB = resolve(import.meta.dirname, '../../scripts/lib.sh')

const since = (file: string, offset: number): string =>
  execFileSync('bash', ['-c', 'source "$1"; log_since "$2" "$3"', 'log-since', LIB, file, String(offset)], { encoding: 'utf8' })

describe('log_since (scripts/lib.sh)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sw-log-since-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('prints what was appended after the offset', () => {
    const file = join(dir, 'system.log')
    writeFileSync(file, 'earlier start\nStarting listening for CQL clients\nthis start\n')
    expect(since(file, 'earlier start\nStarting listening for CQL clients\n'.length)).toBe('this start\n')
  })

  it('prints the whole log when it is shorter than the offset (rolled over since)', () => {
    const file = join(dir, 'system.log')
    writeFileSync(file, 'Starting listening for CQL clients\n')
    expect(since(file, 10_000_000)).toBe('Starting listening for CQL clients\n')
  })

  it('prints nothing for a log not written yet', () => {
    expect(since(join(dir, 'missing.log'), 0)).toBe('')
  })
})
