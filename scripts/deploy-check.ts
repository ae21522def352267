// The offline validators for the deployment files (Dockerfiles, compose.yaml, k8s/), built from the
// pinned Go modules in deploy-check/ with the machine's Go toolchain (scripts/tools.ts, goBuild).
//
//   node scripts/deploy-check.ts [build]     build or refresh every validator (the tests call this)
//   node scripts/deploy-check.ts bin NAME    build if needed, then print the path of NAME
//   node scripts/deploy-check.ts check       run every check once, for people (npm test runs tests/deploy)
//
// Validators (each a module in deploy-check/<dir>, rebuilt when its sources or Go change):
//   kustomize         sigs.k8s.io/kustomize/kustomize/v5, renders k8s/overlays/*
//   kubevalidate      strict decoding with client-go's API types and the Prometheus Operator's
//                     (ServiceMonitor, PrometheusRule) + apimachinery name/label rules
//   compose-check     compose-go, the loader of `docker compose`: schema, interpolation, consistency
//   dockerfile-check  BuildKit's Dockerfile frontend: build checks, image config, COPY sources
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, ROOT, ToolError, cli, goBuild, goCommand, log, sha256, type GoTool } from './tools.ts'

const MODULES = { kustomize: 'kustomize', kubevalidate: 'kubevalidate', 'compose-check': 'compose', 'dockerfile-check': 'dockerfile' }
type Validator = keyof typeof MODULES
interface ComposeProject { services: Record<string, { build?: { dockerfile: string, args?: Record<string, string> } }> }

function validator (name: Validator): GoTool {
  const dir = `deploy-check/${MODULES[name]}`
  const files = readdirSync(join(ROOT, dir)).filter((f) => /^go\.(mod|sum)$|\.go$/.test(f)).sort()
  return {
    name,
    dir,
    pkg: name === 'kustomize' ? 'sigs.k8s.io/kustomize/kustomize/v5' : '.',
    stamp: () => sha256(execFileSync(goCommand(), ['version']), ...files.map((f) => readFileSync(join(ROOT, dir, f)))),
    // go.sum decides every version; a module missing from it is an error, not a download.
    env: { GOPROXY: 'https://proxy.golang.org', GOFLAGS: '-mod=readonly' }
  }
}

async function buildAll (): Promise<void> {
  mkdirSync(BIN, { recursive: true })
  // Parallel test files all call this: one builds under the lock, the others wait and find it current.
  if (process.env.SW_DEPLOY_CHECK_LOCKED !== '1') {
    const lock = join(BIN, '.deploy-check.lock')
    const r = spawnSync('flock', [lock, process.execPath, ...process.argv.slice(1, 2), 'build'], {
      stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SW_DEPLOY_CHECK_LOCKED: '1' }
    })
    if (r.status !== 0) throw new ToolError('some validators did not build')
    return
  }
  // In parallel: the big single packages (k8s.io/api groups, BuildKit) each keep one core busy.
  const results = await Promise.allSettled(Object.keys(MODULES).map((name) => goBuild(validator(name as Validator))))
  const failed = results.filter((r) => r.status === 'rejected')
  for (const f of failed) log('deploy-check', String(f.reason instanceof Error ? f.reason.message : f.reason))
  if (failed.length) throw new ToolError('some validators did not build')
}

function tool (name: Validator, args: string[], input?: string): string {
  const r = spawnSync(join(BIN, name), args, { cwd: ROOT, encoding: 'utf8', input, maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new ToolError(`${name} ${args.join(' ')} failed:\n${r.stderr}`)
  return r.stdout
}

async function checkAll (): Promise<void> {
  await buildAll()
  const out = join(ROOT, '.cache/deploy-check')
  mkdirSync(out, { recursive: true })
  for (const overlay of readdirSync(join(ROOT, 'k8s/overlays'))) {
    log('deploy-check', `kustomize build k8s/overlays/${overlay} | kubevalidate`)
    const yaml = tool('kustomize', ['build', `k8s/overlays/${overlay}`])
    writeFileSync(join(out, `${overlay}.yaml`), yaml)
    tool('kubevalidate', ['-'], yaml)
  }
  log('deploy-check', 'compose-check compose.yaml')
  const project = JSON.parse(tool('compose-check', ['compose.yaml'])) as ComposeProject
  // Each image as compose.yaml builds it: the same Dockerfile with other build arguments is another image.
  const builds = new Map<string, string[]>()
  for (const { build } of Object.values(project.services)) {
    if (!build) continue
    const args = Object.entries(build.args ?? {}).flatMap(([k, v]) => ['-build-arg', `${k}=${v}`])
    builds.set(JSON.stringify(build), ['-context', '.', ...args, build.dockerfile])
  }
  log('deploy-check', `dockerfile-check (${builds.size} images)`)
  const reports = [...builds.values()].map((args) => tool('dockerfile-check', args))
  type Report = { file: string, error?: string, warnings: unknown[] }
  for (const r of reports.flatMap((json) => JSON.parse(json) as Report[])) {
    if (r.error || r.warnings.length) throw new ToolError(`${r.file}: ${r.error ?? JSON.stringify(r.warnings)}`)
  }
  writeFileSync(join(out, 'dockerfiles.json'), reports.join(''))
  log('deploy-check', 'ok (the full set of assertions is: npx vitest run --project deploy)')
}

cli('deploy-check', async () => {
  const [command = 'build', name, ...rest] = process.argv.slice(2)
  if (command === 'build' && !name) return await buildAll()
  if (command === 'check' && !name) return await checkAll()
  if (command === 'bin' && name && name in MODULES && !rest.length) {
    await buildAll()
    console.log(join(BIN, name))
    return
  }
  throw new ToolError(`usage: node scripts/deploy-check.ts [build | bin ${Object.keys(MODULES).join('|')} | check]`)
})
