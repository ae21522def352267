import { ConfigError, loadConfig } from '@shortwave/common/config'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configSchema, defaultDomainHosts } from '../src/config.ts'

const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))

describe('configuration', () => {
  it('defaults to 302 on port 3002 with a 3 s local cache', () => {
    const config = loadConfig(configSchema, {})
    expect(config).toMatchObject({ PORT: 3002, REDIRECT_STATUS: 302, LOCAL_CACHE_TTL_MS: 3000, LOG_REQUESTS: false })
  })

  it.each(['301', '302', '307', '308'])('accepts REDIRECT_STATUS=%s', (status) => {
    expect(loadConfig(configSchema, { REDIRECT_STATUS: status }).REDIRECT_STATUS).toBe(Number(status))
  })

  it('rejects REDIRECT_STATUS=303 with an error naming the variable', () => {
    expect(() => loadConfig(configSchema, { REDIRECT_STATUS: '303' })).toThrow(ConfigError)
    expect(() => loadConfig(configSchema, { REDIRECT_STATUS: '303' })).toThrow(/REDIRECT_STATUS/)
  })

  it('rejects a local cache TTL that would let deleted links live longer than 5 s', () => {
    expect(() => loadConfig(configSchema, { LOCAL_CACHE_TTL_MS: '10000' })).toThrow(/LOCAL_CACHE_TTL_MS/)
  })

  it('stops the real server with a non-zero exit and a message naming a bad variable', async () => {
    const child = spawn(process.execPath, [server], {
      env: { ...process.env, REDIRECT_STATUS: '303', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(stderr).toContain('REDIRECT_STATUS')
  })

  it('reads DEFAULT_DOMAIN_HOSTS as normalised hosts, local names by default', () => {
    expect(defaultDomainHosts(loadConfig(configSchema, {}))).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(defaultDomainHosts({ DEFAULT_DOMAIN_HOSTS: ' SW.Example. , 10.0.0.5' })).toEqual(['sw.example', '10.0.0.5'])
  })

  it.each(['sw.example:8080', 'https://sw.example', 'a b', ',', 'sw..example'])('refuses DEFAULT_DOMAIN_HOSTS=%j naming it', (value) => {
    expect(() => defaultDomainHosts({ DEFAULT_DOMAIN_HOSTS: value })).toThrow(ConfigError)
    expect(() => defaultDomainHosts({ DEFAULT_DOMAIN_HOSTS: value })).toThrow(/DEFAULT_DOMAIN_HOSTS/)
  })

  it('stops the real server when DEFAULT_DOMAIN_HOSTS is not a list of hosts, naming it', async () => {
    const child = spawn(process.execPath, [server], {
      env: { ...process.env, DEFAULT_DOMAIN_HOSTS: 'sw.example:8080', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(78)
    expect(stderr).toContain('DEFAULT_DOMAIN_HOSTS="sw.example:8080" is invalid')
  })
})
