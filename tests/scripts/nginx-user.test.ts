import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// scripts/lib.sh nginx_user_directive: whom nginx's workers run as, for the local stack and the tests.
const LIB = resolve(import.meta.dirname, '../../scripts/lib.sh')

function directive (webDir: string): string {
  return execFileSync('bash', ['-c', 'source "$1"; nginx_user_directive "$2"', 'nginx-user', LIB, webDir], {
    env: { ...process.env, SW_LOG_TAG: 'test' },
    encoding: 'utf8'
  })
}

describe.runIf(process.getuid?.() === 0)('nginx_user_directive (scripts/lib.sh), as root', () => {
  let dir: string
  let web: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sw-nginx-user-'))
    web = join(dir, 'checkout', 'web')
    mkdirSync(web, { recursive: true })
    writeFileSync(join(web, 'index.html'), '<!doctype html>')
  })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('leaves the workers to nobody when nobody can read the web root', () => {
    chmodSync(dir, 0o755)
    expect(directive(web)).toBe('')
  })

  it('runs them as the current user when the checkout is under a directory only its owner enters', () => {
    chmodSync(dir, 0o700) // what mktemp -d makes, and where CI clones
    expect(directive(web)).toBe(` user ${userInfo().username};`)
  })
})
