import { describe, expect, it } from 'vitest'
import { UnsafeLocationError, toLocationHeader } from '../src/location.ts'

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

describe('toLocationHeader', () => {
  it.each([
    ['an IDN host', 'https://例え.jp/', 'https://xn--r8jz45g.jp/'],
    ['an IDN host in capitals, with a non-ASCII path', 'HTTPS://Bücher.DE/Straße', 'https://xn--bcher-kva.de/Stra%C3%9Fe'],
    ['a non-ASCII path and query', 'https://例え.jp/パス?q=ü', 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%C3%BC'],
    ['astral characters on an ASCII host with a port', 'http://example.com:8080/😀?e=🎉', 'http://example.com:8080/%F0%9F%98%80?e=%F0%9F%8E%89'],
    ['a non-ASCII fragment', 'https://example.com/a?b=c#ß', 'https://example.com/a?b=c#%C3%9F'],
    ['already-encoded parts next to raw ones, kept as they are', 'https://例え.jp/%E3%83%91/パス/%2f?q=%c3%bc&r=ü#%20x', 'https://xn--r8jz45g.jp/%E3%83%91/%E3%83%91%E3%82%B9/%2f?q=%c3%bc&r=%C3%BC#%20x']
  ])('writes %s as its WHATWG serialisation', (_name, url, header) => {
    expect(toLocationHeader(url)).toBe(header)
    expect(header).toBe(new URL(url).href)
    expect(header).toMatch(PRINTABLE_ASCII)
  })

  // Each of these would change if re-serialised (case, default port, dot segments, quotes): the
  // header must not, since a signed URL's signature covers the bytes.
  it.each([
    "https://example.com/a%2Fb%20c?q=a+b;c='d'#frag",
    'HTTP://Example.COM',
    'https://example.com:443/a/./b/../c',
    'https://XN--R8JZ45G.jp/%e3%83%91?q=%c3%bc',
    "https://example.com/it's?q='x'&sig=AbC%2b%2F==",
    'https://Example.com/a?b=`c`#{d}'
  ])('sends the ASCII URL %s exactly as stored', (url) => {
    expect(new URL(url).href).not.toBe(url)
    expect(toLocationHeader(url)).toBe(url)
  })

  it('leaves nothing above 127 in the header, whatever the script', () => {
    const header = toLocationHeader('https://пример.рф/путь?ключ=значение&e=😀#ελλάδα')
    expect(header).toMatch(PRINTABLE_ASCII)
    expect(header.startsWith('https://xn--e1afmkfd.xn--p1ai/')).toBe(true)
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

  it('refuses a non-ASCII URL that does not parse as an absolute URL', () => {
    expect(() => toLocationHeader('/パス')).toThrow(UnsafeLocationError)
  })
})
