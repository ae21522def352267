// compose.yaml as `docker compose` would load it (compose-go: Compose Specification schema,
// interpolation, consistency checks; any loader warning is an error), then what it must say.
import { existsSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUILD_TIMEOUT_MS, IMAGES, composeProject, ensureValidators, image, imageOf, nodeProgram, root, runTool,
  type ComposeService
} from './helpers.ts'

const SHORTWAVE = ['create-service', 'redirect-service', 'key-worker', 'event-worker', 'migrate', 'nginx']

beforeAll(() => { ensureValidators() }, BUILD_TIMEOUT_MS)

function service (name: string): ComposeService {
  const s = composeProject().services[name]
  if (!s) throw new Error(`compose.yaml has no service ${name}`)
  return s
}

/** The healthcheck compose would run: the service's own, else the one its image declares. */
function hasHealthcheck (s: ComposeService): boolean {
  if (s.healthcheck?.disable) return false
  if (s.healthcheck?.test?.length) return true
  const name = s.image ? imageOf(s.image) : undefined
  return name !== undefined && (image(name).image.config.Healthcheck?.Test?.length ?? 0) > 0
}

describe('compose.yaml', () => {
  it('loads with the compose loader: schema, interpolation and consistency checks, no warning', () => {
    const project = composeProject()
    expect(project.name).toBe('shortwave')
    expect(Object.keys(project.services).sort()).toEqual(['cassandra', 'create-service', 'event-worker', 'key-worker', 'migrate', 'nginx', 'redirect-service', 'redis'])
  })

  describe('the loader used here rejects what docker compose would reject', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sw-compose-'))
    afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
    const original = readFileSync(join(root, 'compose.yaml'), 'utf8')
    const attempt = (edit: (text: string) => string) => {
      const file = join(dir, 'compose.yaml')
      writeFileSync(file, edit(original))
      return runTool('compose-check', [file])
    }

    it('an unknown attribute', () => {
      const result = attempt((t) => t.replace('    read_only: true\n', '    read_onyl: true\n'))
      expect(result.status).toBe(1)
      expect(result.stderr).toContain('read_onyl')
    })

    it('a depends_on naming no service', () => {
      const result = attempt((t) => t.replace('      migrate:\n        condition: service_completed_successfully', '      migrat:\n        condition: service_completed_successfully'))
      expect(result.status).toBe(1)
      expect(result.stderr).toContain('migrat')
    })

    it('a variable that is not set and has no default', () => {
      const result = attempt((t) => t.replace('SHORTWAVE_TAG:-dev', 'SHORTWAVE_TAG'))
      expect(result.status).toBe(1)
      expect(result.stderr).toContain('SHORTWAVE_TAG')
    })
  })

  it('builds every Shortwave image as the deploy tests check it, with the repository as context', () => {
    for (const name of SHORTWAVE) {
      const s = service(name)
      expect(s.build, name).toBeDefined()
      expect(relative(root, s.build!.context), name).toBe('')
      expect(existsSync(join(root, s.build!.dockerfile)), `${name}: ${s.build!.dockerfile}`).toBe(true)
      const built = imageOf(s.image ?? '')
      expect(built, `${name}: image ${s.image}`).toBeDefined()
      expect({ dockerfile: s.build!.dockerfile, args: s.build!.args ?? {} }, `${name}: image ${s.image} and its build differ`)
        .toEqual(IMAGES[built!])
    }
  })

  it('runs Cassandra 5.0 with a health check by cqlsh or nodetool and its data on a named volume', () => {
    const cassandra = service('cassandra')
    expect(cassandra.image).toBe('cassandra:5.0')
    expect(cassandra.healthcheck?.test?.join(' ')).toMatch(/cqlsh|nodetool/)
    const data = cassandra.volumes?.find((v) => v.target === '/var/lib/cassandra')
    expect(data?.type).toBe('volume')
    expect(Object.keys(composeProject().volumes ?? {})).toContain(data?.source)
  })

  it('runs Redis without persistence, so a stale key pool can never be restored', () => {
    const redis = service('redis')
    const argv = redis.command ?? []
    const flag = (name: string) => argv[argv.indexOf(name) + 1]
    expect(argv).toContain('--save')
    expect(flag('--save')).toBe('')
    expect(flag('--appendonly')).toBe('no')
    expect(redis.volumes?.filter((v) => v.type !== 'tmpfs') ?? []).toEqual([])
    expect(redis.healthcheck?.test?.join(' ')).toContain('ping')
  })

  it('migrates the schema once, before any service starts', () => {
    const migrate = service('migrate')
    expect(nodeProgram(migrate.command, image('key-worker').image.config.WorkingDir ?? '/'))
      .toBe('common/src/cassandra/migrate-cli.ts')
    expect(migrate.restart).toBe('no')
    expect(migrate.depends_on?.['cassandra']?.condition).toBe('service_healthy')
    for (const name of ['create-service', 'redirect-service', 'key-worker', 'event-worker']) {
      expect(service(name).depends_on?.['migrate']?.condition, name).toBe('service_completed_successfully')
    }
  })

  it('waits only on health checks that exist, and only on one-shot services to complete', () => {
    for (const [name, s] of Object.entries(composeProject().services)) {
      for (const [target, dep] of Object.entries(s.depends_on ?? {})) {
        if (dep.condition === 'service_healthy') expect(hasHealthcheck(service(target)), `${name} → ${target}`).toBe(true)
        if (dep.condition === 'service_completed_successfully') expect(service(target).restart, `${name} → ${target}`).toBe('no')
        expect(dep.condition, `${name} → ${target}`).not.toBe('service_started')
      }
    }
  })

  it('runs two redirect-service replicas behind nginx, which publishes port 8080', () => {
    const redirect = service('redirect-service')
    expect(redirect.deploy?.replicas).toBeGreaterThanOrEqual(2)
    expect(redirect.container_name).toBeUndefined()
    expect(redirect.ports ?? []).toEqual([])
    const nginx = service('nginx')
    expect(nginx.ports?.map((p) => [p.target, p.published])).toEqual([[8080, '8080']])
    expect(nginx.depends_on?.['redirect-service']?.condition).toBe('service_healthy')
    expect(nginx.depends_on?.['create-service']?.condition).toBe('service_healthy')
  })

  it('publishes no other port: Cassandra, Redis and the services stay inside', () => {
    for (const [name, s] of Object.entries(composeProject().services)) {
      if (name !== 'nginx') expect(s.ports ?? [], name).toEqual([])
    }
  })

  it('keeps the datastores off the network nginx is on', () => {
    const nets = (name: string) => Object.keys(service(name).networks ?? {})
    for (const store of ['cassandra', 'redis']) {
      for (const net of nets(store)) expect(nets('nginx'), store).not.toContain(net)
    }
    expect(composeProject().networks?.['backend']?.internal).toBe(true)
  })

  it('puts only the event-worker on the outbound network (to webhook endpoints)', () => {
    const on = Object.entries(composeProject().services).filter(([, s]) => 'outbound' in (s.networks ?? {})).map(([name]) => name)
    expect(on).toEqual(['event-worker'])
    expect(composeProject().networks?.['outbound']?.internal).not.toBe(true)
  })

  it('limits the CPU and memory of every container', () => {
    for (const [name, s] of Object.entries(composeProject().services)) {
      expect(s.deploy?.resources?.limits?.cpus, name).toBeGreaterThan(0)
      expect(Number(s.deploy?.resources?.limits?.memory), name).toBeGreaterThan(0)
    }
  })

  it('runs the Shortwave containers read-only, without capabilities', () => {
    for (const name of SHORTWAVE) {
      expect(service(name).read_only, name).toBe(true)
      expect(service(name).cap_drop, name).toEqual(['ALL'])
    }
  })

  it('gives every service longer to stop than its drain (SHUTDOWN_GRACE_MS)', () => {
    for (const name of ['create-service', 'redirect-service', 'key-worker', 'event-worker']) {
      const s = service(name)
      const graceMs = Number(s.environment?.['SHUTDOWN_GRACE_MS'] ?? 10_000)
      const stop = /^(\d+)s$/.exec(s.stop_grace_period ?? '10s')
      expect(Number(stop?.[1]) * 1000, name).toBeGreaterThan(graceMs)
    }
  })

  it('trusts proxy headers only from nginx\'s fixed address', () => {
    const nginxAddress = Object.values(service('nginx').networks ?? {}).map((n) => n?.ipv4_address).find(Boolean)
    expect(nginxAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    for (const name of ['create-service', 'redirect-service']) {
      expect(service(name).environment?.['TRUST_PROXY'], name).toBe(nginxAddress)
    }
  })
})
