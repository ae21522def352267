// The Prometheus rules of observability/rules/: promtool accepts every file (`check rules`), every
// unit test of observability/rules/tests/ passes (`test rules`), each alert is proven both to fire
// and to stay quiet there, and each carries what the person it wakes needs: a severity, a summary
// and a runbook in docs/runbooks/ that exists. promtool comes from Debian's prometheus package
// (scripts/ensure-tools.sh prometheus; npm test installs it).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../..', import.meta.url))
const rulesDir = join(root, 'observability/rules')
const testsDir = join(rulesDir, 'tests')

const ruleFiles = readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).sort()
const testFiles = readdirSync(testsDir).filter((f) => f.endsWith('.test.yml')).sort()

interface Rule {
  alert?: string
  record?: string
  expr: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
interface RuleFile { groups: Array<{ name: string, rules: Rule[] }> }
interface AlertTest { alertname: string, exp_alerts?: unknown[] }
interface TestFile { rule_files: string[], tests: Array<{ alert_rule_test?: AlertTest[] }> }

const alerts = ruleFiles.flatMap((file) =>
  (parse(readFileSync(join(rulesDir, file), 'utf8')) as RuleFile).groups
    .flatMap((g) => g.rules.filter((r) => r.alert !== undefined).map((rule) => ({ file, rule }))))
const alertNames = [...new Set(alerts.map(({ rule }) => rule.alert!))]

/** Runs promtool; its whole output is the failure message when it exits non-zero. */
function promtool (args: string[], cwd = rulesDir): { status: number | null, output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' })
  if (r.error) throw new Error(`promtool: ${r.error.message} (bash scripts/ensure-tools.sh prometheus installs it)`)
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('promtool', () => {
  it.each(ruleFiles)('check rules accepts %s', (file) => {
    const { status, output } = promtool(['check', 'rules', file])
    expect(status, output).toBe(0)
  })

  it.each(testFiles)('test rules passes %s', (file) => {
    const { status, output } = promtool(['test', 'rules', file], testsDir)
    expect(status, output).toBe(0)
  }, 60_000)

  it('fails a rule file with a broken expression, and a unit test that expects the wrong alert', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-rules-'))
    writeFileSync(join(dir, 'bad.yml'), 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(rate(x[5m])\n')
    const bad = promtool(['check', 'rules', 'bad.yml'], dir)
    expect(bad.status).not.toBe(0)
    expect(bad.output).toContain('bad.yml')
    writeFileSync(join(dir, 'ok.yml'), 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: x > 1\n')
    writeFileSync(join(dir, 'ok.test.yml'), `rule_files: [ok.yml]
tests:
  - interval: 1m
    input_series: [{series: 'x', values: '0x10'}]
    alert_rule_test: [{eval_time: 5m, alertname: X, exp_alerts: [{exp_labels: {}}]}]
`)
    const wrong = promtool(['test', 'rules', 'ok.test.yml'], dir)
    expect(wrong.status).not.toBe(0)
    expect(wrong.output).toContain('FAILED')
  })
})

describe('the unit tests', () => {
  const tests = testFiles.map((file) => parse(readFileSync(join(testsDir, file), 'utf8')) as TestFile)
  const cases = tests.flatMap((t) => t.tests.flatMap((c) => c.alert_rule_test ?? []))

  it('load every rule file', () => {
    const loaded = new Set(tests.flatMap((t) => t.rule_files.map((f) => f.replace(/^\.\.\//, ''))))
    expect([...loaded].sort()).toEqual(ruleFiles)
  })

  it.each(alertNames)('prove %s fires where it should and stays quiet where it should', (name) => {
    const mine = cases.filter((c) => c.alertname === name)
    expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name} is never expected to fire`).toBe(true)
    expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} is never expected to stay quiet`).toBe(true)
  })
})

describe('every alert', () => {
  it.each(alerts.map(({ file, rule }) => [`${rule.alert} (${rule.labels?.['severity']}, ${file})`, rule] as const))(
    '%s has a severity, a summary, a description and a runbook that exists', (_name, rule) => {
      expect(['page', 'ticket']).toContain(rule.labels?.['severity'])
      expect(rule.annotations?.['summary']).toMatch(/\S/)
      expect(rule.annotations?.['description']).toMatch(/\S/)
      const runbook = rule.annotations?.['runbook_url'] ?? ''
      expect(runbook).toBe(`docs/runbooks/${rule.alert}.md`)
      expect(existsSync(join(root, runbook)), `${runbook} is missing`).toBe(true)
    })

  it('has a runbook, and every runbook has an alert', () => {
    const runbooks = readdirSync(join(root, 'docs/runbooks')).filter((f) => f.endsWith('.md') && f !== 'README.md')
    expect(runbooks.map((f) => f.replace(/\.md$/, '')).sort()).toEqual([...alertNames].sort())
  })
})
