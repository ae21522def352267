import { ConfigError, loadConfig } from '@shortwave/common/config'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkConfig, configSchema, quotaRates } from '../src/config.ts'

describe('configuration', () => {
  it('has working defaults', () => {
    expect(loadConfig(configSchema, {})).toMatchObject({
      PORT: 3001,
      PUBLIC_BASE_URL: 'http://localhost:8080',
      OWN_HOSTS: '',
      BLOCKED_DOMAINS: '',
      ALLOWED_TARGET_NETWORKS: '',
      ALLOWED_TARGET_HOSTS: '',
      RESOLVE_TARGETS: false,
      RESOLVE_TIMEOUT_MS: 1000,
      MAX_TTL_SECONDS: 157_680_000,
      ALLOW_ANONYMOUS: true,
      BODY_LIMIT_BYTES: 8192,
      KEY_LEASE_AHEAD: 50,
      REDIS_CACHE_TTL_SECONDS: 86_400,
      REDIS_NEGATIVE_TTL_SECONDS: 10,
      RETRY_AFTER_SECONDS: 2
    })
  })

  it('limits anonymous callers to 60 and API keys to 600 creations a minute by default', () => {
    expect(quotaRates(loadConfig(configSchema, {})))
      .toEqual({ anonymous: { quota: 60, windowSeconds: 60 }, apiKey: { quota: 600, windowSeconds: 60 } })
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
    ['BLOCKED_DOMAINS', 'evil example'],
    ['ALLOWED_TARGET_NETWORKS', 'intranet.example'],
    ['ALLOWED_TARGET_HOSTS', 'http://wiki'],
    ['RESOLVE_TARGETS', 'sometimes'],
    ['RESOLVE_TIMEOUT_MS', '0']
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(new RegExp(`${name}=`))
  })

  it.each([
    '10.0.0.0/8', '10.0.0.0/8, 172.16.0.0/12 ,fd12:3456::/48', '192.168.1.10', '::1', '0.0.0.0/0'
  ])('accepts ALLOWED_TARGET_NETWORKS=%s', (value) => {
    expect(checkConfig(loadConfig(configSchema, { ALLOWED_TARGET_NETWORKS: value })).ALLOWED_TARGET_NETWORKS)
      .toBe(value)
  })

  it.each([
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" needs a prefix length from 0 to 32/],
    ['fd00::/129', /from 0 to 128/],
    ['10.0.0.256/8', /"10\.0\.0\.256\/8" is not an IP address or network/],
    ['10.0.0/8', /is not an IP address/],
    ['10.0.0.0/', /needs a prefix length/],
    ['fd00:::1/64', /is not an IP address/]
  ])('refuses ALLOWED_TARGET_NETWORKS=%s, naming the variable and the entry', (value, message) => {
    const check = () => checkConfig(loadConfig(configSchema, { ALLOWED_TARGET_NETWORKS: value }))
    expect(check).toThrow(ConfigError)
    expect(check).toThrow(new RegExp(`ALLOWED_TARGET_NETWORKS="${value.replace(/[./]/g, '\\$&')}" is invalid`))
    expect(check).toThrow(message)
  })

  it('stops the real server on a network it cannot parse, naming the variable', () => {
    const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))
    const result = spawnSync(process.execPath, [server], {
      env: { ...process.env, ALLOWED_TARGET_NETWORKS: '10.0.0.0/33', CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 30_000
    })
    expect(result.status).toBe(78)
    expect(result.stderr).toMatch(/ALLOWED_TARGET_NETWORKS="10\.0\.0\.0\/33" is invalid: .*prefix length/)
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
