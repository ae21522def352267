import { describe, expect, it } from 'vitest'
import { UnsafeLocationError, toLocationHeader } from '../src/location.ts'

describe('toLocationHeader', () => {
  it('passes printable ASCII through unchanged', () => {
    const url = "https://example.com/a%2Fb%20c?q=a+b;c='d'#frag"
    expect(toLocationHeader(url)).toBe(url)
  })

  it('spells a non-ASCII URL as its UTF-8 bytes, one latin1 character per byte', () => {
    const url = 'https://例え.jp/パス?q=ü&e=😀'
    const header = toLocationHeader(url)
    expect(Buffer.from(header, 'latin1')).toEqual(Buffer.from(url, 'utf8'))
    expect([...header].every((c) => c.charCodeAt(0) < 256)).toBe(true)
  })

  it.each([
    ['CR LF', 'https://example.com/\r\nset-cookie: x=1'],
    ['LF', 'https://example.com/a\nb'],
    ['NUL', 'https://example.com/a\u0000b'],
    ['TAB', 'https://example.com/a\tb'],
    ['DEL', 'https://example.com/a\u007fb'],
    ['control next to non-ASCII', 'https://例え.jp/\r\n']
  ])('refuses a URL containing %s', (_name, url) => {
    expect(() => toLocationHeader(url)).toThrow(UnsafeLocationError)
  })
})
