// No drift between what is deployed and what the code reads: every environment variable that
// compose.yaml, the rendered Kubernetes manifests (ConfigMaps and Secrets resolved) and the
// images' ENV give a Shortwave program is a setting of that program's configSchema, and the
// program's own loadConfig accepts the values (plus the checks a schema cannot express).
import { join } from 'node:path'
import type { TObject } from 'typebox'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/src/config.ts'
import { parseReplication } from '../../common/src/cassandra/schema.ts'
import {
  BUILD_TIMEOUT_MS, OVERLAYS, PROGRAM_CONFIG, composeProject, containerEnv, ensureValidators, image as imageReport,
  imageEnv, imageOf, nodeProgram, podTemplates, render, root, secretTemplates
} from './helpers.ts'

interface ConfigModule {
  configSchema: TObject
  checkConfig?: (config: any) => unknown
}

/** Variables the base image itself sets; they are Node's and the OS's, not Shortwave settings. */
const BASE_IMAGE_ENV = new Set(['PATH', 'NODE_VERSION', 'YARN_VERSION'])

const modules = new Map<string, ConfigModule>()

beforeAll(async () => {
  ensureValidators()
  for (const [program, file] of Object.entries(PROGRAM_CONFIG)) {
    modules.set(program, await import(join(root, file)) as ConfigModule)
  }
}, BUILD_TIMEOUT_MS)

interface Deployed {
  where: string
  program: string
  env: Record<string, string>
  names: string[]
}

interface ImageDefaults { cmd: string[], workdir: string, env: Record<string, string> }

function imageDefaults (ref: string): ImageDefaults {
  const name = imageOf(ref)
  if (!name) throw new Error(`no Dockerfile builds ${ref}`)
  const report = imageReport(name)
  const env = Object.fromEntries(Object.entries(imageEnv(report)).filter(([k]) => !BASE_IMAGE_ENV.has(k)))
  return { cmd: report.image.config.Cmd ?? [], workdir: report.image.config.WorkingDir ?? '/', env }
}

/**
 * The image's ENV is written for the image's own program (its CMD), so its names are checked
 * against that program only; another program run in the image (the migration) still gets the
 * values, and ignores them.
 */
function imageNames (image: ImageDefaults, program: string): string[] {
  return nodeProgram(image.cmd, image.workdir) === program ? Object.keys(image.env) : []
}

function fromCompose (): Deployed[] {
  return Object.entries(composeProject().services).flatMap(([name, s]) => {
    if (!s.image || !imageOf(s.image)) return []
    const image = imageDefaults(s.image)
    const program = nodeProgram(s.command ?? image.cmd, image.workdir)
    if (!program) return [] // nginx: not a Node program, no config schema
    const own = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => {
      // A bare name in compose passes the host's value through: nothing to check, and no default.
      if (v === null) throw new Error(`compose service ${name}: ${k} takes its value from the host`)
      return [k, v]
    }))
    return [{ where: `compose ${name}`, program, env: { ...image.env, ...own }, names: [...imageNames(image, program), ...Object.keys(own)] }]
  })
}

function fromKubernetes (overlay: string): Deployed[] {
  const objects = render(overlay)
  return podTemplates(objects).flatMap(({ owner, pod }) => pod.spec.containers.flatMap((c: any) => {
    if (!imageOf(c.image)) return []
    const image = imageDefaults(c.image)
    const argv: string[] = c.command ? [...c.command, ...(c.args ?? [])] : (c.args ?? image.cmd)
    const program = nodeProgram(argv, c.workingDir ?? image.workdir)
    if (!program) return []
    const { env, names } = containerEnv(objects, c, secretTemplates())
    return [{ where: `${overlay} ${owner.kind}/${owner.metadata.name}/${c.name}`, program, env: { ...image.env, ...env }, names: [...imageNames(image, program), ...names] }]
  }))
}

function checkDeployed (d: Deployed): void {
  const module = modules.get(d.program)
  expect(module, `${d.where} runs ${d.program}, which has no known configuration schema`).toBeDefined()
  const known = new Set(Object.keys(module!.configSchema.properties))
  const unknown = d.names.filter((n) => !known.has(n))
  expect(unknown, `${d.where} sets variables ${d.program} does not read`).toEqual([])
  const config = loadConfig(module!.configSchema, d.env) as Record<string, unknown>
  module!.checkConfig?.(config)
  if (typeof config['CASSANDRA_REPLICATION'] === 'string') parseReplication(config['CASSANDRA_REPLICATION'])
}

describe('compose.yaml', () => {
  it('runs each Shortwave program once: the three services and the migration', () => {
    expect(fromCompose().map((d) => d.program).sort()).toEqual(Object.keys(PROGRAM_CONFIG).sort())
  })

  it('gives every program only variables its configuration reads, with values it accepts', () => {
    for (const d of fromCompose()) checkDeployed(d)
  })
})

describe.each(OVERLAYS)('%s', (overlay) => {
  it('runs each Shortwave program: the three services and the migration Job', () => {
    expect([...new Set(fromKubernetes(overlay).map((d) => d.program))].sort())
      .toEqual(Object.keys(PROGRAM_CONFIG).sort())
  })

  it('gives every container only variables its program reads, with values it accepts', () => {
    for (const d of fromKubernetes(overlay)) checkDeployed(d)
  })

  it('agrees with compose.yaml on each service\'s port', () => {
    const portOf = (list: Deployed[], program: string) => list.find((d) => d.program === program)?.env['PORT']
    for (const program of Object.keys(PROGRAM_CONFIG).filter((p) => p.endsWith('/server.ts'))) {
      expect(portOf(fromKubernetes(overlay), program), program).toBe(portOf(fromCompose(), program))
    }
  })
})

describe('the check itself', () => {
  it('catches a variable that no program reads, and a value a program refuses', () => {
    const base = fromCompose().find((d) => d.program === 'redirect-service/src/server.ts')!
    expect(() => checkDeployed({ ...base, names: [...base.names, 'REDIRECT_STATUSS'] })).toThrow(/REDIRECT_STATUSS/)
    expect(() => checkDeployed({ ...base, env: { ...base.env, REDIRECT_STATUS: '303' } })).toThrow(/REDIRECT_STATUS/)
    const migrate = fromCompose().find((d) => d.program === 'common/src/cassandra/migrate-cli.ts')!
    expect(() => checkDeployed({ ...migrate, env: { ...migrate.env, CASSANDRA_REPLICATION: 'dc1=3' } })).toThrow(/replication/)
  })
})
