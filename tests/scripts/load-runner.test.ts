import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cpuReport } from '../../load-tests/run.ts'

// load-tests/run.ts (npm run load, and the smoke step of npm test): what it
// refuses before it touches the stack, and its reading of /proc/stat.
const ROOT = resolve(import.meta.dirname, '../..')

function load (...args: string[]) {
  return spawnSync(resolve(ROOT, 'node_modules/.bin/node'), ['load-tests/run.ts', ...args], { cwd: ROOT, encoding: 'utf8' })
}

describe('npm run load', () => {
  it('prints its usage for --help and exits 0', () => {
    const r = load('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('npm run load -- <scenario> [options]')
  })

  it.each([
    [['bogus'], 'unknown scenario or arguments: bogus'],
    [[], 'unknown scenario or arguments'],
    [['redirect', '--npm-test'], 'unknown scenario or arguments: redirect --npm-test'],
    [['smoke', 'extra'], 'unknown scenario or arguments: smoke extra'],
    [['seed', '--links'], "Option '--links <value>' argument missing"],
    [['soak', '--lnog'], "Unknown option '--lnog'"]
  ])('refuses %j with the usage and exit 1, starting nothing', (args, message) => {
    const r = load(...args)
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(message)
    expect(r.stderr).toContain('npm run load -- <scenario> [options]')
    expect(r.stderr).not.toContain('k6 run')
  })
})

describe('cpuReport', () => {
  // /proc/stat's cpu line after the label: user nice system idle iowait irq softirq steal
  it('counts idle, iowait and steal as not busy, and reports steal on its own', () => {
    const before = [100, 0, 50, 1000, 10, 0, 0, 5]
    const after = [170, 0, 70, 1080, 20, 0, 0, 25]
    // 200 ticks: 90 busy (user + system), 80 idle, 10 iowait, 20 stolen
    expect(cpuReport(before, after)).toBe('machine during the run: 45% busy, 10% stolen by the hypervisor')
  })

  it('says so when no time passed', () => {
    expect(cpuReport([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8])).toBe('machine during the run: no CPU time counted')
  })
})
