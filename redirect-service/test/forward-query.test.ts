import { describe, expect, it } from 'vitest'
import { withForwardedQuery } from '../src/forward-query.ts'

describe('withForwardedQuery', () => {
  it('leaves the target exactly as it is when the request has no query', () => {
    const signed = 'https://cdn.example.com/f?X-Sig=a%2Fb%3D&exp=1#top'
    expect(withForwardedQuery(signed, '')).toBe(signed)
    expect(withForwardedQuery(signed, '&&')).toBe(signed)
  })

  it('appends the request parameters after the target\'s, keeping the fragment last', () => {
    expect(withForwardedQuery('https://example.com/p', 'utm_source=mail')).toBe('https://example.com/p?utm_source=mail')
    expect(withForwardedQuery('https://example.com/p?a=1#frag', 'b=2&c')).toBe('https://example.com/p?a=1&b=2&c#frag')
    expect(withForwardedQuery('https://example.com/p?#x', 'b=2')).toBe('https://example.com/p?b=2#x')
  })

  it('lets the request override a parameter the target sets, however it is encoded', () => {
    expect(withForwardedQuery('https://example.com/?a=1&b=2&a=3', 'a=9')).toBe('https://example.com/?b=2&a=9')
    expect(withForwardedQuery('https://example.com/?my%20key=1&z=0', 'my+key=2')).toBe('https://example.com/?z=0&my+key=2')
  })

  it('keeps the target\'s bytes and makes only what the request adds ASCII', () => {
    // Node gives the request line as latin1: "é" sent as UTF-8 arrives as two characters.
    const raw = Buffer.from('q=café', 'utf8').toString('latin1')
    expect(withForwardedQuery('https://example.com/s?k=%27', raw)).toBe('https://example.com/s?k=%27&q=caf%C3%A9')
    expect(withForwardedQuery('https://example.com/', 'a=b c')).toBe('https://example.com/?a=b%20c')
  })

  it('survives malformed escapes, treating them as literal names', () => {
    expect(withForwardedQuery('https://example.com/?%zz=1', '%zz=2')).toBe('https://example.com/?%zz=2')
  })
})
