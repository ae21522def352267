import { ConfigError, loadConfig } from '@shortwave/common/config'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configSchema } from '../src/config.ts'

describe('configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig(configSchema, {})).toMatchObject({
      PORT: 3001,
      PUBLIC_BASE_URL: 'http://localhost:8080',
      OWN_HOSTS: '',
      BLOCKED_DOMAINS: '',
      MAX_TTL_SECONDS: 157_680_000,
      ALLOW_ANONYMOUS: true,
      RATE_LIMIT_MAX: 60,
      RATE_LIMIT_WINDOW_MS: 60_000,
      BODY_LIMIT_BYTES: 8192,
      KEY_LEASE_AHEAD: 50,
      REDIS_CACHE_TTL_SECONDS: 86_400,
      REDIS_NEGATIVE_TTL_SECONDS: 10,
      RETRY_AFTER_SECONDS: 2
    })
  })

  it.each([
    'https://sw.example', 'http://localhost:8080/', 'HTTPS://SW.EXAMPLE:8443', 'http://[::1]:8080', 'http://10.0.0.1'
  ])('accepts PUBLIC_BASE_URL=%s', (value) => {
    expect(loadConfig(configSchema, { PUBLIC_BASE_URL: value }).PUBLIC_BASE_URL).toBe(value)
  })

  it.each([
    ['PUBLIC_BASE_URL', 'sw.example'],
    ['PUBLIC_BASE_URL', 'ftp://sw.example'],
    ['PUBLIC_BASE_URL', 'https://sw.example/links'],
    ['PUBLIC_BASE_URL', 'https://sw.example?x=1'],
    ['PUBLIC_BASE_URL', 'https://user:pw@sw.example'],
    ['RATE_LIMIT_MAX', 'abc'],
    ['RATE_LIMIT_MAX', '0'],
    ['MAX_TTL_SECONDS', '-5'],
    ['ALLOW_ANONYMOUS', 'maybe'],
    ['OWN_HOSTS', 'a.example, http://b.example'],
    ['BLOCKED_DOMAINS', 'evil example']
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(new RegExp(`${name}=`))
  })

  it('stops the real server with a message naming the variable', () => {
    const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))
    const result = spawnSync(process.execPath, [server], {
      env: { ...process.env, PUBLIC_BASE_URL: 'javascript:alert(1)', RATE_LIMIT_MAX: 'abc', CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 30_000
    })
    expect(result.status).not.toBe(0)
    expect(result.status).not.toBeNull()
    expect(result.stderr).toMatch(/PUBLIC_BASE_URL="javascript:alert\(1\)" is invalid: .*expected an absolute http\(s\) URL without path or query/)
    expect(result.stderr).toMatch(/RATE_LIMIT_MAX="abc" is invalid/)
  })
})
