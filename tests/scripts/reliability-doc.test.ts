import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  renderCluster, renderFaults, renderFuzz, spliceSection,
  type ClusterReport, type FaultsReport, type FuzzReport
} from '../faults/harness/reliability-doc.ts'

// tests/faults/harness/reliability-doc.ts: the figures of docs/reliability.md, rendered from the
// suites' reports. The fixtures are reports of real runs (trimmed) on the code before key leases:
// faults.json, whose Redis rollback handed 555 keys out twice, and cluster.json, whose Redis
// failover handed out 208 twice.
const FIXTURES = join(import.meta.dirname, 'fixtures', 'reliability')
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T

/** The fixture with every problem it shows taken away: what a passing run reports. */
function passingFaults (): FaultsReport {
  const report = fixture<FaultsReport>('faults.json')
  const phases = report.phases.map((p) => ({ ...p, unexpected: {}, recovered: true }))
  const rollback = report.redisRollback!
  const links = rollback.check.acknowledged
  return {
    ...report,
    phases,
    redisRollback: {
      ...rollback,
      earlier: { ...rollback.earlier, intact: rollback.earlier.links },
      check: {
        ...rollback.check, duplicateKeys: 0, duplicateExamples: [], redirected: links, readBack: links, failures: []
      }
    }
  }
}

describe('renderFaults', () => {
  const text = renderFaults(fixture<FaultsReport>('faults.json'))

  it('puts every phase in the table with its answers by status, slowest answer and bound', () => {
    const rows = text.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| phase') && !line.startsWith('| ---'))
    expect(rows.map((row) => row.split(' | ')[0]!.slice(2))).toEqual([
      'baseline', 'redis-kill', 'redis-pause', 'key-worker-kill', 'create-kill', 'redirect-kill',
      'create-term', 'redirect-term', 'key-worker-term', 'cassandra-pause', 'cassandra-kill', 'redis-rollback'
    ])
    expect(text).toContain('| create-kill | create-service replica 1 of 2 SIGKILL, restarted after 2 s | 138 (201: 137, 502: 1) | 367 (302: 367) | 137 | 520 | 7.2 | 0.0 |  |')
    expect(text).toContain('| cassandra-pause | Cassandra SIGSTOP for 5 s, then SIGCONT | 61 (201: 55, 503: 6) | 342 (302: 342) | 55 | 2067 (6000) |')
    expect(text).toContain('| baseline | none | 85 (201: 85) | 208 (302: 208) | 85 | 440 | – | – |  |')
  })

  it('says the run failed, and why, when it found duplicate keys and an unexpected answer', () => {
    expect(text).toMatch(/^Last run finished 2026-12-05 20:25 UTC\. \*\*FAILED:\*\* /)
    expect(text).toContain('create-term: 1 × create 503')
    expect(text).toContain('redis-rollback: 555 keys answered 201 twice')
    expect(text).toContain('redis-rollback: 543 earlier links no longer redirect to or read back their URL')
    expect(text).toContain('**555 keys were answered `201` twice** (e.g. `Cza9Fty`')
    expect(text).toContain('**556 of the 1,099 links acknowledged before the fault still point where they did.**')
  })

  it('says the run passed when nothing the contract forbids happened', () => {
    const passed = renderFaults(passingFaults())
    expect(passed).toContain('**Passed:** nothing the contract forbids happened.')
    expect(passed).toContain('**0 keys were answered `201` twice**')
    expect(passed).not.toContain('FAILED')
  })

  it('fails a phase whose slowest answer is over its bound', () => {
    const report = passingFaults()
    const pause = report.phases.find((p) => p.name === 'redis-pause')!
    pause.create.maxMs = 3001
    expect(renderFaults(report)).toContain('**FAILED:** redis-pause: slowest answer 3001 ms over its 3000 ms bound.')
  })

  it('says so when the Redis rollback did not run', () => {
    const { redisRollback: _, ...report } = passingFaults()
    expect(renderFaults(report)).toContain('**Redis rollback:** not run.')
  })
})

describe('renderFuzz', () => {
  it('leads with the test cases and the verdict, then the summary as schemathesis printed it', () => {
    const text = renderFuzz(fixture<FuzzReport>('fuzz.json'))
    expect(text.split('\n')[0]).toBe('Last run finished 2026-12-05 20:27 UTC, 30 examples per operation, test cases: 497 generated, 497 passed, 4 skipped: ' +
      '**passed** (schemathesis exited 0: every check held on every answer). Its summary:')
    expect(text).toContain('```\n     ✅ 4 passed  ⏭  3 skipped\n')
  })

  it('says FAILED with the exit code when schemathesis found something', () => {
    expect(renderFuzz({ ...fixture<FuzzReport>('fuzz.json'), exitCode: 1 })).toContain('**FAILED** (schemathesis exited 1).')
  })
})

describe('renderCluster', () => {
  const report = fixture<ClusterReport>('cluster.json')

  it('shows the failover and node-loss phases, the catch-up, and why the run failed', () => {
    const text = renderCluster(report)
    expect(text).toMatch(/^Last run finished 2026-12-05 20:37 UTC\. \*\*FAILED:\*\* redis-failover: 69 × redirect 302; redis-failover: 208 keys answered 201 twice;/)
    for (const phase of ['redis-failover', 'baseline', 'node-kill', 'after']) expect(text).toContain(`| ${phase} | `)
    expect(text).toContain('| node-kill | node2 SIGKILL under load, restarted after 20 s | 710 (201: 710) | 1,483 (302: 1,483) | 710 | 800 | 45.0 | 0.0 |  |')
    expect(text).toContain('**902 links acknowledged in the node-loss run, 902 stored, 902 redirecting, 0 duplicate keys.**')
    expect(text).toContain('Catching up: hintsDrainedMs 3510; hintFilesDelivered 4; beforeRepair in sync;')
    expect(text).toContain('the primary SIGKILLed with the replica 185,645 bytes of replication stream behind')
  })

  it('says the run passed once the failover handed out no key twice, and fails a node-loss phase that failed a request', () => {
    const fixed: ClusterReport = structuredClone(report)
    const failover = fixed.redisFailover!
    fixed.phases[0] = { ...fixed.phases[0]!, unexpected: {} }
    failover.earlier.intact = failover.earlier.links
    const acknowledged = failover.check.acknowledged
    failover.check = {
      ...failover.check,
      duplicateKeys: 0,
      duplicateExamples: [],
      redirected: acknowledged,
      readBack: acknowledged,
      failures: []
    }
    expect(renderCluster(fixed)).toContain('**Passed:** nothing the contract forbids happened.')

    fixed.phases.find((p) => p.name === 'node-kill')!.redirect.failed = 2
    expect(renderCluster(fixed)).toContain('**FAILED:** node-kill: 2 failed requests.')
  })
})

describe('spliceSection', () => {
  const doc = [
    'Prose that mentions the `<!-- faults:begin -->` marker in passing.',
    '<!-- faults:begin (old comment) -->',
    'old figures',
    '<!-- faults:end -->',
    'Prose after, kept.',
    '<!-- fuzz:begin -->',
    'fuzz figures',
    '<!-- fuzz:end -->'
  ].join('\n')

  it('replaces what is between the section\'s own marker lines, and nothing else', () => {
    expect(spliceSection(doc, 'faults', 'new figures with $& and $1 in them', 'reports/faults.json')).toBe([
      'Prose that mentions the `<!-- faults:begin -->` marker in passing.',
      '<!-- faults:begin (written by scripts/faults.ts from reports/faults.json; edit the text outside these markers) -->',
      'new figures with $& and $1 in them',
      '<!-- faults:end -->',
      'Prose after, kept.',
      '<!-- fuzz:begin -->',
      'fuzz figures',
      '<!-- fuzz:end -->'
    ].join('\n'))
  })

  it('refuses a page without the markers instead of writing nowhere', () => {
    expect(() => spliceSection('no markers here', 'cluster', 'x', 'reports/cluster.json')).toThrow(/no <!-- cluster:begin -->/)
  })
})
