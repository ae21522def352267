import { ConfigError, loadConfig } from '@shortwave/common/config'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configSchema, quotaRates } from '../src/config.ts'

describe('configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig(configSchema, {})).toMatchObject({
      PORT: 3001,
      PUBLIC_BASE_URL: 'http://localhost:8080',
      OWN_HOSTS: '',
      BLOCKED_DOMAINS: '',
      MAX_TTL_SECONDS: 157_680_000,
      ALLOW_ANONYMOUS: true,
      BODY_LIMIT_BYTES: 8192,
      POOL_FETCH_BATCH: 32,
      REDIS_CACHE_TTL_SECONDS: 86_400,
      REDIS_NEGATIVE_TTL_SECONDS: 10,
      RETRY_AFTER_SECONDS: 2
    })
  })

  it('limits anonymous callers to 60 and API keys to 600 creations a minute by default', () => {
    expect(quotaRates(loadConfig(configSchema, {}))).toEqual({ anonymous: { quota: 60, windowSeconds: 60 }, apiKey: { quota: 600, windowSeconds: 60 } })
  })

  it('takes both rates from their settings, and from the older RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_MS where they are not set', () => {
    expect(quotaRates(loadConfig(configSchema, { ANONYMOUS_RATE: '10/s', API_KEY_RATE: 'unlimited' }))).toEqual({ anonymous: { quota: 10, windowSeconds: 1 }, apiKey: null })
    expect(quotaRates(loadConfig(configSchema, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '3600000' }))).toEqual({ anonymous: { quota: 5, windowSeconds: 3600 }, apiKey: { quota: 5, windowSeconds: 3600 } })
    expect(quotaRates(loadConfig(configSchema, { RATE_LIMIT_MAX: '5', API_KEY_RATE: '100/min' }))).toEqual({ anonymous: { quota: 5, windowSeconds: 60 }, apiKey: { quota: 100, windowSeconds: 60 } })
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
    ['ANONYMOUS_RATE', '60'],
    ['ANONYMOUS_RATE', '60/week'],
    ['API_KEY_RATE', '0/min'],
    ['API_KEY_RATE', 'none'],
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
