import { describe, expect, it } from 'vitest'
import type { Domain } from '@shortwave/common/domain-registry'
import { createHostTable } from '../src/hosts.ts'

const domain = (host: string, rootRedirect: string | null = null, notFoundRedirect: string | null = null): Domain =>
  ({ host, rootRedirect, notFoundRedirect, createdAt: new Date(0) })

describe('the host table', () => {
  it('maps the default domain\'s names, in any spelling a Host header may take, to the default domain', () => {
    const hosts = createHostTable(['localhost', '127.0.0.1', '[::1]'])
    for (const header of ['localhost', 'LOCALHOST:8080', 'localhost.', '127.0.0.1:3002', '[::1]:8080']) {
      expect(hosts.lookup(header), header).toEqual({ domain: '', rootLocation: null, notFoundLocation: null })
    }
  })

  it('knows no host without a header, an unregistered host, or a header that is no host', () => {
    const hosts = createHostTable(['localhost'])
    for (const header of [undefined, '', 'go.example', 'localhost:8080:1', 'local host']) expect(hosts.lookup(header)).toBeNull()
  })

  it('serves a registered domain once the registry has it, with its redirects as Location values, and forgets it when gone', () => {
    const hosts = createHostTable(['localhost'])
    expect(hosts.lookup('go.example')).toBeNull()
    hosts.update(new Map([['go.example', domain('go.example', 'https://example.com/', 'https://例え.jp/missing')]]))
    expect(hosts.lookup('Go.Example:443')).toEqual({
      domain: 'go.example', rootLocation: 'https://example.com/', notFoundLocation: 'https://xn--r8jz45g.jp/missing'
    })
    hosts.update(new Map())
    expect(hosts.lookup('Go.Example:443')).toBeNull()
    expect(hosts.lookup('localhost')).toMatchObject({ domain: '' })
  })

  it('lets the default domain\'s names win over a registered host of the same name', () => {
    const hosts = createHostTable(['localhost'])
    hosts.update(new Map([['localhost', domain('localhost', 'https://example.com/')]]))
    expect(hosts.lookup('localhost')).toEqual({ domain: '', rootLocation: null, notFoundLocation: null })
  })

  it('stays bounded however many Host spellings clients invent', () => {
    const hosts = createHostTable(['localhost'])
    for (let i = 0; i < 5000; i++) expect(hosts.lookup(`x${i}.example`)).toBeNull()
    expect(hosts.remembered).toBe(1024)
    // Past the bound, answers are worked out each time instead: still right.
    expect(hosts.lookup('localhost:1')).toMatchObject({ domain: '' })
    expect(hosts.remembered).toBe(1024)
  })
})
