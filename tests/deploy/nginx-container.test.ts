// The nginx image, run without Docker: its files (the shared nginx/nginx.conf and
// nginx/shortwave.conf, the env.d/ file the Dockerfile writes, the page its build stage built)
// are laid out as in the image (image-tree.ts), and its entrypoint script runs with `-T` in a
// private mount namespace where /etc/nginx is the image's, /tmp is empty and /etc/hosts knows the
// service names compose and Kubernetes provide. nginx then checks the configuration as the
// container loads it (with this machine's nginx binary: Debian's, not the image's).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BUILD_TIMEOUT_MS, ensureValidators, image as imageReport, root } from './helpers.ts'
import { buildImageTree } from './image-tree.ts'

/** Where this test writes: the names' hosts file and nginx's output (the image's tree stays as built). */
const scratch = join(root, '.cache/deploy-check/nginx-run')
let dump: { status: number | null, stdout: string, stderr: string }

beforeAll(() => {
  ensureValidators()
  const image = buildImageTree('nginx').dir
  const entrypoint = imageReport('nginx').image.config.Entrypoint?.[0]
  if (!entrypoint) throw new Error('nginx/Dockerfile has no ENTRYPOINT')
  rmSync(scratch, { recursive: true, force: true })
  mkdirSync(scratch, { recursive: true })
  writeFileSync(join(scratch, 'hosts'), '127.0.0.1 localhost create-service redirect-service\n')
  const script = [
    'set -e',
    `mount --bind ${image}/etc/nginx /etc/nginx`,
    `mount --bind ${scratch}/hosts /etc/hosts`,
    // The checkout itself may live under /tmp (CI clones), which the tmpfs below hides: read the
    // entrypoint and open the output file first.
    `entrypoint=$(cat ${image}${entrypoint})`,
    // A file, as a container's stdout is a file or a pipe: nginx opens /dev/stdout for the access
    // log, which fails on the socket a Node child process gets.
    `exec 3>${scratch}/nginx-T.out`,
    'mount -t tmpfs tmpfs /tmp',
    'exec sh -c "$entrypoint" entrypoint -T >&3'
  ].join('\n')
  const result = spawnSync('unshare', ['--mount', '--', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 })
  if (result.error) throw result.error
  if (!existsSync(join(scratch, 'nginx-T.out'))) {
    throw new Error(`could not run nginx in a private mount namespace (unshare needs root): ${result.stderr}`)
  }
  dump = { status: result.status, stdout: readFileSync(join(scratch, 'nginx-T.out'), 'utf8'), stderr: result.stderr }
}, BUILD_TIMEOUT_MS)

/** The effective configuration without comments: every file nginx read, concatenated. */
function effective (): string {
  return dump.stdout.split('\n').map((l) => l.replace(/#.*$/, '')).join('\n')
}

describe('the nginx image\'s configuration', () => {
  it('passes nginx -t as the container loads it (prefix under /tmp, read-only elsewhere)', () => {
    expect(dump.stderr).toContain('syntax is ok')
    expect(dump.stderr).toContain('test is successful')
    expect(dump.status).toBe(0)
  })

  it('is the repository\'s shared nginx.conf and shortwave.conf plus the image\'s environment file', () => {
    const files = [...dump.stdout.matchAll(/^# configuration file (\S+):$/gm)].map((m) => m[1])
    expect(files).toEqual(['/etc/nginx/nginx.conf', '/etc/nginx/env.d/container.conf', '/etc/nginx/shortwave.conf'])
  })

  it('listens on every interface of the container, port 8080, not only on loopback', () => {
    const listens = [...effective().matchAll(/^\s*listen\s+([^;]+);/gm)].map((m) => m[1]!.trim())
    expect(listens).toEqual(['8080'])
  })

  it('proxies to the services by their compose/Kubernetes names, never to the container\'s own loopback', () => {
    const servers = [...effective().matchAll(/^\s*server\s+([^\s;{]+)[^;{]*;/gm)].map((m) => m[1])
    expect(servers).toEqual(['create-service:3001', 'redirect-service:3002'])
  })

  it('logs requests to the container\'s stdout and errors to its stderr', () => {
    expect(effective()).toMatch(/^\s*access_log\s+\/dev\/stdout\s+json\b/m)
    expect(effective()).toMatch(/^\s*error_log\s+stderr\b/m)
    expect(effective()).not.toMatch(/^\s*access_log\s+(?!\/dev\/stdout|off)/m)
  })
})
