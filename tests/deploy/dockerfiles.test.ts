// Each image's Dockerfile as BuildKit reads it with that image's build arguments
// (deploy-check/dockerfile): no build-check warnings, only paths that exist in the build context
// after .dockerignore, a Node 24 base, a non-root user, and a CMD that starts a file the build
// puts into the image.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BUILD_TIMEOUT_MS, IMAGE_NAMES, copiedFiles, dockerfilePaths, ensureValidators, image, imageEnv, nginxWebRoot,
  nodeProgram, root, type DockerCopy, type DockerStage, type DockerfileReport
} from './helpers.ts'

const SERVICES = {
  'create-service': 3001,
  'redirect-service': 3002,
  'key-worker': 3004,
  'event-worker': 3005
} as const

/** A Node 24 base image (a tag of the official image, or distroless). */
const NODE_24 = /^(docker\.io\/(library\/)?)?node:24(\.\d+){0,2}-(alpine|slim|bookworm|trixie)[\w.]*$|^gcr\.io\/distroless\/nodejs24-debian\d+/

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

const imagePaths = (copy: DockerCopy): string[] => copiedFiles(copy).map((c) => c.to)

function finalStage (report: DockerfileReport) {
  const stage = report.stages.at(-1)
  if (!stage) throw new Error(`${report.file} has no stage`)
  return stage
}

function contextCopies (report: DockerfileReport): DockerCopy[] {
  return report.stages.flatMap((s) => s.copies).filter((c) => !c.from && !c.inline?.length)
}

describe('every image', () => {
  it('comes from one Dockerfile for the Node services and one for nginx', () => {
    expect(dockerfilePaths()).toEqual(['Dockerfile', 'nginx/Dockerfile'])
  })

  describe.each(IMAGE_NAMES)('%s', (file) => {
    it('parses and passes BuildKit\'s build checks without a warning', () => {
      const report = image(file)
      expect(report.error).toBeUndefined()
      expect(report.warnings).toEqual([])
    })

    it('copies only paths that exist in the build context after .dockerignore', () => {
      const report = image(file)
      expect(report.dockerignore).toBe('.dockerignore')
      const copies = contextCopies(report)
      expect(copies.length).toBeGreaterThan(0)
      for (const copy of copies) {
        for (const source of copy.sources) {
          expect(source.files, `${file}:${copy.line} ${copy.instruction} ${source.path} sends no file`).not.toEqual([])
          expect(posix.normalize(source.path), `${file}:${copy.line} copies the whole context`).not.toBe('.')
        }
      }
    })

    it('copies no tests, dependencies, caches or local state into the image', () => {
      const sent = contextCopies(image(file)).flatMap((c) => c.sources.flatMap((s) => s.files))
      for (const f of sent) {
        expect(f).not.toMatch(/(^|\/)(node_modules|\.git|\.cache|\.run|test|tests|testing)(\/|$)|\.test\.ts$|(^|\/)\.env/)
      }
    })

    it('copies from build stages that are defined before the copy', () => {
      const report = image(file)
      report.stages.forEach((stage, index) => {
        const earlier = new Set(report.stages.slice(0, index).map((s) => s.name).filter(Boolean))
        for (const copy of stage.copies.filter((c) => c.from)) {
          expect(earlier, `${file}:${copy.line} COPY --from=${copy.from}`).toContain(copy.from)
        }
      })
    })

    it('runs as a non-root user', () => {
      const user = image(file).image.config.User ?? ''
      expect(user).not.toBe('')
      expect(user.split(':')[0]).not.toMatch(/^(root|0)$/)
    })

    it('has a HEALTHCHECK', () => {
      expect(image(file).image.config.Healthcheck?.Test?.[0]).toBe('CMD')
    })

    it('never starts through npm (it would swallow SIGTERM)', () => {
      const { Cmd = [], Entrypoint = [] } = image(file).image.config
      expect([...Entrypoint, ...Cmd].join(' ')).not.toMatch(/\bnpm\b|\byarn\b|\bpnpm\b/)
    })
  })
})

describe.each(Object.entries(SERVICES))('the %s image', (service, port) => {
  const file = service as keyof typeof SERVICES

  it('builds on Node 24 in every stage', () => {
    for (const stage of image(file).stages) expect(stage.base).toMatch(NODE_24)
  })

  it('installs only this service\'s production dependencies with npm ci', () => {
    const runs = image(file).stages.flatMap((s) => s.runs)
    const install = runs.filter((r) => /\bnpm\b/.test(r))
    expect(install).toHaveLength(1)
    expect(install[0]).toMatch(/^npm ci /)
    expect(install[0]).toContain('--omit=dev')
    expect(install[0]).toContain(`--workspace=${service}`)
    expect(install[0]).toContain('--include-workspace-root=false')
  })

  it(`starts node ${service}/src/server.ts, a file a COPY puts into the image`, () => {
    const report = image(file)
    const { Cmd = [], Entrypoint = [], WorkingDir = '/' } = report.image.config
    expect(Entrypoint).toEqual([])
    expect(nodeProgram(Cmd, WorkingDir)).toBe(`${service}/src/server.ts`)
    const produced = finalStage(report).copies.filter((c) => !c.from).flatMap(imagePaths)
    expect(produced).toContain(`/app/${service}/src/server.ts`)
  })

  it('copies the shared package\'s sources, which the service imports', () => {
    const produced = finalStage(image(file)).copies.filter((c) => !c.from).flatMap(imagePaths)
    expect(produced).toContain('/app/common/src/config.ts')
    expect(produced).toContain('/app/common/src/run-service.ts')
  })

  it(`listens on every interface on port ${port}, as the service config defaults, and exposes it`, () => {
    const report = image(file)
    expect(imageEnv(report)).toMatchObject({ HOST: '0.0.0.0', PORT: String(port) })
    expect(Object.keys(report.image.config.ExposedPorts ?? {})).toEqual([`${port}/tcp`])
    const config = readFileSync(`${root}/${service}/src/config.ts`, 'utf8')
    expect(config).toMatch(new RegExp(`PORT: Type\\.Integer\\(\\{[^}]*default: ${port}\\b`))
  })

  it('health-checks /healthz on $PORT inside the container', () => {
    const test = image(file).image.config.Healthcheck?.Test ?? []
    expect(test.join(' ')).toMatch(/127\.0\.0\.1:.*process\.env\.PORT.*\/healthz/)
  })
})

describe('the nginx image', () => {
  const files = () => image('nginx').stages.at(-1)!.copies.flatMap(copiedFiles)

  /** The COPY that puts the page where nginx serves it, and the stage it takes the page from. */
  function pageCopy (): { copy: DockerCopy, stage: DockerStage } {
    const report = image('nginx')
    const copy = report.stages.at(-1)!.copies.find((c) => posix.resolve(c.workdir, c.dest) === nginxWebRoot())
    if (!copy) throw new Error(`no COPY into ${nginxWebRoot()}, the root of the image's environment file`)
    const stage = report.stages.find((s) => copy.from !== undefined && s.name === copy.from)
    if (!stage) throw new Error(`the COPY into ${nginxWebRoot()} takes no earlier stage's output`)
    return { copy, stage }
  }

  /** Where a context file lands in the page's build stage. */
  const inBuildStage = (file: string): string | undefined =>
    pageCopy().stage.copies.flatMap(copiedFiles).find((f) => f.file === file)?.to

  it('ships the shared nginx configuration of the repository, unchanged, and every environment-independent file', () => {
    expect(files()).toContainEqual({ file: 'nginx/nginx.conf', to: '/etc/nginx/nginx.conf' })
    expect(files()).toContainEqual({ file: 'nginx/shortwave.conf', to: '/etc/nginx/shortwave.conf' })
  })

  it('serves, from the root its environment file names, the dist/ a build stage\'s web/build.ts wrote', () => {
    const { copy } = pageCopy()
    const buildScript = inBuildStage('web/build.ts')
    expect(buildScript).toBeDefined()
    // build.ts writes dist/ beside itself.
    expect(copy.sources.map((s) => posix.normalize(s.path).replace(/\/$/, ''))).toEqual([posix.join(posix.dirname(buildScript!), 'dist')])
    // Only the built page: no source of it reaches nginx.
    expect(files().filter((f) => f.file.startsWith('web/'))).toEqual([])
  })

  it('builds the page in a Node 24 stage: npm ci of the web workspace with its devDependencies, then node web/build.ts', () => {
    const { stage } = pageCopy()
    expect(stage.base).toMatch(NODE_24)
    const install = stage.runs.filter((r) => /\bnpm\b/.test(r))
    expect(install).toHaveLength(1)
    expect(install[0]).toMatch(/^npm ci /)
    expect(install[0]).toContain('--workspace=web')
    expect(install[0]).toContain('--include-workspace-root=false')
    // esbuild, which builds, is a devDependency of the workspace.
    expect(install[0]).not.toContain('--omit=dev')
    expect(stage.runs.indexOf(install[0]!)).toBeLessThan(stage.runs.length - 1)
    // The last step runs the build script the stage copied (the runs share the stage's WORKDIR).
    const [program, script, ...rest] = stage.runs.at(-1)!.split(/\s+/)
    expect(program).toBe('node')
    expect(rest).toEqual([])
    expect(posix.resolve(stage.copies[0]!.workdir, script!)).toBe(inBuildStage('web/build.ts'))
  })

  it('gives the page\'s build stage the lock, the manifests and every file of web/ in git but its tsconfig.json', () => {
    const tracked = execFileSync('git', ['ls-files', 'web'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean)
    // tsconfig.json is for tsc (npm run typecheck): build.ts gives esbuild its options itself.
    const needed = ['package.json', 'package-lock.json', ...tracked.filter((f) => f !== 'web/tsconfig.json')]
    for (const file of needed) expect(inBuildStage(file), `${file} is not in the page's build stage`).toBeDefined()
  })

  it('uses a pinned nginx release, not latest', () => {
    expect(image('nginx').stages.at(-1)!.base).toMatch(/^nginx:1\.\d+(\.\d+)?-alpine$/)
  })

  it('stops gracefully (SIGQUIT) and runs nginx in the foreground as PID 1', () => {
    const { StopSignal, Entrypoint = [] } = image('nginx').image.config
    expect(StopSignal).toBe('SIGQUIT')
    const script = image('nginx').stages.at(-1)!.copies.find((c) => c.dest === Entrypoint[0])
    expect(script?.inline?.[0]?.data).toMatch(/exec nginx .*-c \/etc\/nginx\/nginx\.conf .*daemon off;/)
  })
})
