// Builds each image's file tree without Docker (image-tree.ts: the Dockerfile's own steps, as
// BuildKit parsed them, replayed into folders: COPY from the context after .dockerignore, the RUN
// lines with the host's npm and the pinned Node 24, COPY --from an earlier stage). A service's
// CMD is then started there: a missing file, a package npm ci did not install or an import of
// something the image lacks fails when Node links the modules, before the service reads its
// configuration; an invalid PORT then stops it with exit code 78 (EX_CONFIG), proving everything
// loaded. The nginx image's tree holds the page its build stage built.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BUILD_TIMEOUT_MS, ensureValidators, image, imageEnv, nginxWebRoot, nodeProgram, root } from './helpers.ts'
import { at, buildImageTree, type ImageTree } from './image-tree.ts'

const SERVICES = ['create-service', 'redirect-service', 'key-worker', 'event-worker'] as const
const node24 = join(root, 'node_modules/.bin/node')

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

/** Starts a program of the image in its working directory; resolves with its exit status and stderr. */
function start (
  tree: ImageTree,
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
  let tree: ImageTree

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

describe('the nginx image, built without Docker', () => {
  let tree: ImageTree
  let web: string

  beforeAll(() => {
    tree = buildImageTree('nginx')
    web = at(tree.dir, nginxWebRoot())
  }, 180_000)

  it('serves the page its build stage built: an index.html whose every /static/ file is there', () => {
    const page = readFileSync(join(web, 'index.html'), 'utf8')
    expect(page).not.toContain('{{')
    const named = [...page.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1]!)
    // The entry script and stylesheet, content-hashed by esbuild.
    expect(named).toContainEqual(expect.stringMatching(/^\/static\/assets\/main-\w+\.js$/))
    expect(named).toContainEqual(expect.stringMatching(/^\/static\/assets\/main-\w+\.css$/))
    for (const file of named) expect(existsSync(join(web, file)), `${file}, named by index.html`).toBe(true)
  })

  it('keeps the stable names redirect-service\'s 404 page links to', () => {
    expect(existsSync(join(web, 'static/app.css'))).toBe(true)
    expect(existsSync(join(web, 'static/favicon.svg'))).toBe(true)
  })

  it('holds only the build\'s output: no sources, packages or Node of the build stage', () => {
    expect(readdirSync(web).sort()).toEqual(['index.html', 'static'])
    expect(readdirSync(join(web, 'static')).sort()).toEqual(['app.css', 'assets', 'favicon.svg'])
    expect(existsSync(at(tree.dir, '/app'))).toBe(false)
  })
})
