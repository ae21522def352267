// The local observability stack's configuration, without running it (tests/infra-stop/observe-stack.test.ts
// runs it): Prometheus's rendered config passes promtool, rule files included; it scrapes every
// service process-compose.yaml starts, on the port it starts it on; each part is declared; no two
// listeners of the stack share a port.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../..', import.meta.url))
const compose = parse(readFileSync(join(root, 'process-compose.yaml'), 'utf8')) as { processes: Record<string, { command: string }> }

const bash = (code: string) => spawnSync('bash', ['-c', code], { cwd: root, encoding: 'utf8' })

describe('the observability stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-observe-'))
  const rendered = bash(`observability/prometheus/run.sh check ${dir}`)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('renders a Prometheus config that promtool accepts, with the rule files it loads', () => {
    expect(rendered.status, `${rendered.stdout}${rendered.stderr}`).toBe(0)
    expect(`${rendered.stdout}${rendered.stderr}`).toMatch(/SUCCESS: \d+ rule files found/)
  })

  it('scrapes every service on the port process-compose.yaml starts it on', () => {
    const config = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string, static_configs: Array<{ targets: string[] }> }>
    }
    const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((s) => s.targets))
    const services = Object.entries(compose.processes).flatMap(([name, p]) => {
      const port = /\bPORT=(\d+)/.exec(p.command)?.[1]
      return port === undefined ? [] : [[name, `127.0.0.1:${port}`] as const]
    })
    expect(services.map(([name]) => name).sort()).toEqual(['create-service', 'event-worker', 'key-worker', 'redirect-service-1', 'redirect-service-2'])
    expect(services.filter(([, target]) => !targets.includes(target))).toEqual([])
  })

  it('declares each of its parts in process-compose.yaml', () => {
    const declared = bash('source scripts/lib.sh && declare -p OBSERVE_PARTS').stdout // declare -a OBSERVE_PARTS=([0]="prometheus" …)
    const parts = [...declared.matchAll(/"([^"]+)"/g)].map((m) => m[1]!)
    expect(parts).toHaveLength(5)
    expect(parts.filter((name) => compose.processes[name] === undefined)).toEqual([])
  })

  it('gives every listener of the stack a port of its own', () => {
    const stackEnv = [...readFileSync(join(root, 'infra/stack.env'), 'utf8').matchAll(/^SW_\w+_PORT=(\d+)$/gm)].map((m) => Number(m[1]))
    const fixed = [8080, 18080, 3001, 3002, 3003, 3004, 3005] // nginx/env/local.conf, process-compose.yaml
    const all = [...stackEnv, ...fixed]
    expect(all.length).toBeGreaterThan(15)
    expect(new Set(all).size).toBe(all.length)
  })

  it('builds Jaeger v1.75.0 exactly, the approved release', () => {
    const mod = readFileSync(join(root, 'observability/jaeger-build/go.mod'), 'utf8')
    expect(/^require github\.com\/jaegertracing\/jaeger (\S+)$/m.exec(mod)?.[1]).toBe('v1.75.0')
  })
})
