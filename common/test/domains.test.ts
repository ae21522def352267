import { describe, expect, it } from 'vitest'
import {
  DEFAULT_DOMAIN, hostOfHeader, isScopedKey, linkBucket, normalizeHost, parseScopedKey, scopedKey
} from '../src/domains.ts'

describe('scopedKey', () => {
  it('is the key itself on the default domain, so the names of existing links do not change', () => {
    expect(DEFAULT_DOMAIN).toBe('')
    expect(scopedKey(DEFAULT_DOMAIN, 'abc1234')).toBe('abc1234')
  })

  it('is host/key on any other domain, and parses back', () => {
    expect(scopedKey('go.example', 'abc1234')).toBe('go.example/abc1234')
    expect(parseScopedKey('go.example/abc1234')).toEqual({ domain: 'go.example', key: 'abc1234' })
    expect(parseScopedKey('abc1234')).toEqual({ domain: '', key: 'abc1234' })
  })

  it('tells scoped keys from anything else', () => {
    expect(isScopedKey('abc1234')).toBe(true)
    expect(isScopedKey('go.example/abc1234')).toBe(true)
    expect(isScopedKey('GO.example/abc1234')).toBe(false)
    expect(isScopedKey('go.example/a')).toBe(false)
    expect(isScopedKey('go.example/abc/def')).toBe(false)
    expect(isScopedKey('/abc1234')).toBe(false)
  })

  it('puts a domain\'s links in partitions of their own', () => {
    expect(linkBucket('', 'abc1234')).toBe('abc')
    expect(linkBucket('go.example', 'abc1234')).toBe('go.example/abc')
  })
})

describe('normalizeHost', () => {
  it('lower-cases, drops a trailing dot and converts to punycode', () => {
    expect(normalizeHost('Go.Example')).toBe('go.example')
    expect(normalizeHost('go.example.')).toBe('go.example')
    expect(normalizeHost('bücher.example')).toBe('xn--bcher-kva.example')
    expect(normalizeHost('BÜCHER.example')).toBe('xn--bcher-kva.example')
    expect(normalizeHost('intranet')).toBe('intranet')
  })

  it.each([
    '', 'go.example:8080', 'go.example/x', 'user@go.example', 'go.example?x', 'go.example#x', ' go.example',
    'go..example', '-go.example', 'go-.example', 'go_x.example', `${'a'.repeat(64)}.example`, 'a%2eexample',
    `${'a.'.repeat(127)}ab`, '.', 'http://go.example'
  ])('refuses %j', (text) => {
    expect(normalizeHost(text)).toBeNull()
  })

  it('refuses IP literals unless asked, in every spelling WHATWG reads as one', () => {
    for (const ip of ['127.0.0.1', '0x7f.1', '2130706433', '[::1]']) expect(normalizeHost(ip)).toBeNull()
    expect(normalizeHost('127.0.0.1', { allowIp: true })).toBe('127.0.0.1')
    expect(normalizeHost('0x7f.1', { allowIp: true })).toBe('127.0.0.1')
    expect(normalizeHost('[::1]', { allowIp: true })).toBe('[::1]')
  })
})

describe('hostOfHeader', () => {
  it('drops the port and normalises', () => {
    expect(hostOfHeader('Go.Example:8080')).toBe('go.example')
    expect(hostOfHeader('go.example')).toBe('go.example')
    expect(hostOfHeader('127.0.0.1:8080')).toBe('127.0.0.1')
    expect(hostOfHeader('[::1]:8080')).toBe('[::1]')
    expect(hostOfHeader('[::1]')).toBe('[::1]')
  })

  it('is null for no header or not a host', () => {
    expect(hostOfHeader(undefined)).toBeNull()
    expect(hostOfHeader('')).toBeNull()
    expect(hostOfHeader('a b')).toBeNull()
    expect(hostOfHeader('go.example:8080:1')).toBeNull()
  })
})
