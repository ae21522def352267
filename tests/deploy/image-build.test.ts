// Builds each service image's file tree without Docker: the Dockerfile's own steps, as BuildKit
// parsed them, replayed into a folder (COPY from the context after .dockerignore, the RUN npm ci
// with the host's npm and the pinned Node 24, COPY --from the deps stage), then the image's CMD is
// started there. A missing file, a package npm ci did not install or an import of something the
// image lacks fails when Node links the modules, before the service reads its configuration; an
// invalid PORT then stops it with exit code 78 (EX_CONFIG), proving everything loaded.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BUILD_TIMEOUT_MS, copiedFiles, ensureValidators, image, imageEnv, nodeProgram, root, type DockerStage
} from './helpers.ts'

const SERVICES = ['create-service', 'redirect-service', 'key-worker', 'event-worker'] as const
const work = join(root, '.cache/deploy-check/images')
const node24 = join(root, 'node_modules/.bin/node')

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

/** Removes the trees of earlier inputs (same prefix, other hash), so .cache does not grow. */
function prune (prefix: string, keep: string): void {
  if (!existsSync(work)) return
  for (const name of readdirSync(work)) {
    if (name.startsWith(prefix) && join(work, name) !== keep) rmSync(join(work, name), { recursive: true, force: true })
  }
}

/** The context files a stage's COPY instructions send. */
const contextFiles = (stage: DockerStage): string[] => stage.copies.flatMap((c) => c.sources.flatMap((s) => s.files))

/** Where an absolute image path lives in a stage's folder. */
const at = (stageDir: string, imagePath: string): string => join(stageDir, imagePath)

function copyFromContext (stageDir: string, stage: DockerStage): void {
  for (const copy of stage.copies.filter((c) => !c.from)) {
    for (const { file, to } of copiedFiles(copy)) {
      mkdirSync(join(at(stageDir, to), '..'), { recursive: true })
      cpSync(join(root, file), at(stageDir, to))
    }
  }
}

/**
 * Replays the deps stage; its result is kept under .cache keyed by everything it is made of
 * (the copied files and the RUN lines), so a warm run reuses it.
 */
function buildDepsStage (service: string, stage: DockerStage): string {
  const hash = createHash('sha256')
  for (const f of contextFiles(stage)) hash.update(f).update(readFileSync(join(root, f)))
  for (const run of stage.runs) hash.update(run)
  const dir = join(work, `${service}-deps-${hash.digest('hex').slice(0, 16)}`)
  prune(`${service}-deps-`, dir)
  if (existsSync(join(dir, '.complete'))) return dir
  rmSync(dir, { recursive: true, force: true })
  copyFromContext(dir, stage)
  const workdir = stage.copies[0]?.workdir ?? '/'
  for (const run of stage.runs) {
    const result = spawnSync('sh', ['-c', run], {
      cwd: at(dir, workdir),
      encoding: 'utf8',
      // The pinned Node 24 runs npm; packages come from npm's cache when it has them.
      env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }
    })
    if (result.status !== 0) throw new Error(`${service}: RUN ${run} failed:\n${result.stdout}\n${result.stderr}`)
  }
  writeFileSync(join(dir, '.complete'), '')
  return dir
}

const trees = new Map<string, { dir: string, workdir: string }>()

/** The image's file tree, rebuilt when any of its inputs changed (kept under .cache between runs). */
function buildImageTree (service: typeof SERVICES[number]): { dir: string, workdir: string } {
  const cached = trees.get(service)
  if (cached) return cached
  const report = image(service)
  const stageDirs = new Map<string, string>()
  for (const stage of report.stages.slice(0, -1)) stageDirs.set(stage.name, buildDepsStage(service, stage))
  const final = report.stages.at(-1)!
  const hash = createHash('sha256').update(JSON.stringify(final)).update(JSON.stringify([...stageDirs]))
  for (const f of contextFiles(final)) hash.update(f).update(readFileSync(join(root, f)))
  const dir = join(work, `${service}-image-${hash.digest('hex').slice(0, 16)}`)
  const tree = { dir, workdir: report.image.config.WorkingDir ?? '/' }
  trees.set(service, tree)
  prune(`${service}-image-`, dir)
  if (existsSync(join(dir, '.complete'))) return tree
  rmSync(dir, { recursive: true, force: true })
  for (const copy of final.copies.filter((c) => c.from)) {
    const from = stageDirs.get(copy.from!)
    if (!from) throw new Error(`${service}: COPY --from=${copy.from} names no stage`)
    const dest = posix.isAbsolute(copy.dest) ? copy.dest : posix.join(copy.workdir, copy.dest)
    for (const source of copy.sources) {
      // verbatimSymlinks: the workspace links (node_modules/@shortwave/common -> ../../common) stay relative.
      cpSync(at(from, source.path), at(dir, dest), { recursive: true, verbatimSymlinks: true })
    }
  }
  copyFromContext(dir, final)
  writeFileSync(join(dir, '.complete'), '')
  return tree
}

/** Starts a program of the image in its working directory; resolves with its exit status and stderr. */
function start (
  tree: { dir: string, workdir: string },
  argv: string[],
  env: Record<string, string>
): Promise<{ status: number | null, stderr: string }> {
  const cwd = join(tree.dir, tree.workdir)
  // An absolute path in the command names a file of the image, which lives under the tree here.
  const args = argv.slice(1).map((a) => posix.isAbsolute(a) ? join(tree.dir, a) : a)
  return new Promise((resolve, reject) => {
    // Only the image's environment: nothing from this machine's shell leaks into the check.
    const child = spawn(node24, args, { cwd, env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stderr }))
  })
}

describe.each(SERVICES)('the %s image, built without Docker', (service) => {
  let tree: { dir: string, workdir: string }

  beforeAll(() => { tree = buildImageTree(service) }, 180_000)

  it('holds the production dependencies of the service and nothing of the root tooling', () => {
    const modules = join(tree.dir, '/app/node_modules')
    expect(existsSync(join(modules, 'fastify/package.json'))).toBe(true)
    expect(existsSync(join(modules, 'cassandra-driver/package.json'))).toBe(true)
    for (const devOnly of ['node', 'typescript', 'vitest', 'eslint', 'neostandard', 'playwright-core', '@types/node', '@shortwave/testing']) {
      expect(existsSync(join(modules, devOnly)), `${devOnly} is in the image`).toBe(false)
    }
  })

  it('resolves @shortwave/common to the copied sources, not to a package under node_modules', () => {
    const link = join(tree.dir, '/app/node_modules/@shortwave/common/src/config.ts')
    expect(existsSync(link)).toBe(true)
  })

  it('starts its CMD: every module loads, and a bad PORT stops it with exit 78 naming PORT', async () => {
    const report = image(service)
    const cmd = report.image.config.Cmd ?? []
    expect(nodeProgram(cmd, tree.workdir)).toBe(`${service}/src/server.ts`)
    const result = await start(tree, cmd, { ...imageEnv(report), PORT: 'not-a-port' })
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING/)
    expect(result.stderr).toContain('PORT')
    expect(result.status).toBe(78)
  })
})

describe('the schema migration in the key-worker image', () => {
  it('starts: every module loads, and a bad keyspace name stops it with exit 78', async () => {
    const tree = buildImageTree('key-worker')
    // The command compose.yaml and the Kubernetes Job give the container.
    const result = await start(tree, ['node', '/app/common/src/cassandra/migrate-cli.ts'], {
      ...imageEnv(image('key-worker')),
      CASSANDRA_KEYSPACE: 'Not-A-Keyspace'
    })
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/)
    expect(result.stderr).toContain('CASSANDRA_KEYSPACE')
    expect(result.status).toBe(78)
  }, 180_000)
})
