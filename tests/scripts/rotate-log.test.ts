import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// scripts/lib.sh rotate_log, as infra/nginx/run.sh calls it before nginx appends to its access log again.
const LIB = resolve(import.meta.dirname, '../../scripts/lib.sh')

function rotate (file: string, maxBytes: number): string {
  return execFileSync('bash', ['-c', 'source "$1"; rotate_log "$2"', 'rotate-log', LIB, file], {
    env: { ...process.env, SW_LOG_MAX_BYTES: String(maxBytes), SW_LOG_TAG: 'test' },
    encoding: 'utf8'
  })
}

describe('rotate_log (scripts/lib.sh)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sw-rotate-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('moves a log over the limit to .1, replacing the previous one', () => {
    const file = join(dir, 'access.log')
    writeFileSync(`${file}.1`, 'older')
    writeFileSync(file, 'x'.repeat(101))
    expect(rotate(file, 100)).toContain('access.log: over 100 bytes; moved to access.log.1')
    expect(existsSync(file)).toBe(false)
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('x'.repeat(101))
  })

  it('leaves a log at or under the limit, and a missing one, alone', () => {
    const file = join(dir, 'service.log')
    writeFileSync(file, 'x'.repeat(100))
    expect(rotate(file, 100)).toBe('')
    expect(readFileSync(file, 'utf8')).toHaveLength(100)
    expect(existsSync(`${file}.1`)).toBe(false)
    expect(rotate(join(dir, 'never-written.log'), 100)).toBe('')
  })
})
