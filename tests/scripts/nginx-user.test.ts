import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freePort, send } from '../nginx/edge.ts'

// scripts/lib.sh nginx_user_directive: whom nginx's workers run as, for the local stack and the tests.
const LIB = resolve(import.meta.dirname, '../../scripts/lib.sh')
const ROOT_USER = process.getuid?.() === 0

function directive (webDir: string): string {
  return execFileSync('bash', ['-c', 'source "$1"; nginx_user_directive "$2"', 'nginx-user', LIB, webDir], {
    env: { ...process.env, SW_LOG_TAG: 'test' },
    encoding: 'utf8'
  })
}

/** A checkout's web root under `dir`, holding an index.html. */
function checkout (dir: string): string {
  const web = join(dir, 'checkout', 'web')
  mkdirSync(web, { recursive: true })
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>shortwave</title>')
  return web
}

/** GET / from a real nginx serving `web`, its workers chosen by nginx_user_directive. */
async function servePage (web: string, prefix: string): Promise<{ status: number, body: string }> {
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(conf, `pid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log;\nevents {}\n` +
    `http { access_log off; server { listen 127.0.0.1:${port}; root ${web}; } }\n`)
  const nginx = spawn('nginx', ['-p', `${prefix}/`, '-c', conf, '-g', `daemon off;${directive(web)}`], { stdio: 'ignore' })
  try {
    const deadline = Date.now() + 10_000
    for (;;) {
      const answer = await send(`http://127.0.0.1:${port}/`).catch(() => null)
      if (answer) return { status: answer.status, body: answer.body }
      if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not answer; see ${prefix}/error.log`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    nginx.kill('SIGTERM')
  }
}

describe('nginx_user_directive (scripts/lib.sh)', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sw-nginx-user-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  // What the directive is for, checked end to end as whoever runs the tests: as root the workers
  // would be nobody, who cannot enter a 0700 directory (403 without the directive); as anyone else
  // they run as that user.
  it('lets nginx serve the page from a checkout under a directory only its owner enters', async () => {
    chmodSync(dir, 0o700) // what mktemp -d makes, and where CI clones
    const web = checkout(dir)
    const prefix = mkdtempSync(join(tmpdir(), 'sw-nginx-user-prefix-'))
    try {
      expect(await servePage(web, prefix)).toEqual({ status: 200, body: '<!doctype html><title>shortwave</title>' })
    } finally {
      rmSync(prefix, { recursive: true, force: true })
    }
  })

  it.runIf(!ROOT_USER)('says nothing when not run as root: a master that is not root cannot change its workers\' user', () => {
    chmodSync(dir, 0o700)
    expect(directive(checkout(dir))).toBe('')
  })

  // Only root can ask whether nobody may read a path (runuser). Not run as root, these two show up
  // as skipped, by name; the check above still proves the page is served.
  describe.skipIf(!ROOT_USER)('as root (skipped when not run as root)', () => {
    it('leaves the workers to nobody when nobody can read the web root', () => {
      chmodSync(dir, 0o755)
      expect(directive(checkout(dir))).toBe('')
    })

    it('runs them as the current user when the checkout is under a directory only its owner enters', () => {
      chmodSync(dir, 0o700)
      expect(directive(checkout(dir))).toBe(` user ${userInfo().username};`)
    })
  })
})
