import { createSchemaChecker } from '@shortwave/testing/json-schema'
import { describe, expect, it } from 'vitest'
import { CreateLinkBody } from '../src/schemas.ts'
import { createUrlPolicy } from '@shortwave/common/url-policy'

const checkUrl = createUrlPolicy({
  publicBaseUrl: 'http://localhost:8080',
  ownHosts: ['sw.example', 'Short.Example.'],
  blockedDomains: ['evil.example', 'bad.test']
})

describe('url policy', () => {
  const accepted: Array<[string, string, string]> = [
    ['a plain https URL', 'https://example.com/a?b=c#d', 'https://example.com/a?b=c#d'],
    ['http with a port', 'http://example.com:8443/x', 'http://example.com:8443/x'],
    ['an upper-case scheme and host, stored as given', 'HTTPS://EXAMPLE.COM/Path', 'HTTPS://EXAMPLE.COM/Path'],
    ['a bare host, stored as given', 'https://example.com', 'https://example.com'],
    ['a subdomain with an underscore', 'https://a_b.example.com/', 'https://a_b.example.com/'],
    ['a Unicode host and path, stored as given', 'https://exämple.com/ü', 'https://exämple.com/ü'],
    ['a quote in the query, not re-encoded', "https://example.com/?q='x'", "https://example.com/?q='x'"],
    ['a public IPv4 literal', 'http://93.184.216.34/', 'http://93.184.216.34/'],
    ['a public IPv6 literal', 'http://[2606:2800:220:1::1]/', 'http://[2606:2800:220:1::1]/'],
    ['a trailing dot on a public host', 'https://example.com./', 'https://example.com./'],
    ['a host that merely contains a blocked name', 'https://notevil.example/', 'https://notevil.example/'],
    ['a percent-encoded space in the path', 'https://example.com/a%20b', 'https://example.com/a%20b'],
    ['exactly 2048 characters', `https://example.com/${'a'.repeat(2048 - 20)}`, `https://example.com/${'a'.repeat(2048 - 20)}`]
  ]
  it.each(accepted)('accepts %s', async (_name, input, stored) => {
    await expect(checkUrl(input)).resolves.toBe(stored)
  })

  // The request schema refuses before the policy runs, so it must never be the stricter one.
  it('is never stricter in the request schema than in itself', async () => {
    const check = createSchemaChecker()
    const schema = CreateLinkBody.properties.url
    expect(accepted.map(([name, input]) => ({ name, ...check(schema, input) })).filter((c) => !c.valid)).toEqual([])
    for (const input of ['', 'javascript:alert(1)', 'ftp://example.com/', 'example.com', 'http:example.com', `https://example.com/${'a'.repeat(2049 - 20)}`]) {
      expect({ input, valid: check(schema, input).valid }).toEqual({ input, valid: false })
      await expect(checkUrl(input)).rejects.toThrow(expect.objectContaining({ code: 'SW_INVALID_URL' }))
    }
  })

  const refused: Array<[string, string, RegExp]> = [
    ['javascript:', 'javascript:alert(1)', /http or https; "javascript:"/],
    ['data:', 'data:text/html,<script>alert(1)</script>', /"data:"/],
    ['file:', 'file:///etc/passwd', /"file:"/],
    ['ftp:', 'ftp://example.com/file', /"ftp:"/],
    ['mailto:', 'mailto:someone@example.com', /"mailto:"/],
    ['a relative URL', '/just/a/path', /absolute URL/],
    ['http: without slashes (relative to the short link in a browser)', 'http:example.com', /url must start with http:\/\/; without both slashes/],
    ['https: with one slash', 'https:/example.com/', /url must start with https:\/\//],
    ['backslashes for slashes', 'http:\\\\example.com/', /url must start with http:\/\//],
    ['a URL without a host', 'http://', /absolute URL/],
    ['an empty string', '', /must not be empty/],
    ['localhost', 'http://localhost/', /this link shortener \(localhost\)/],
    ['our own host on its port', 'http://localhost:8080/x', /loop/],
    ['our own host in capitals with a trailing dot', 'HTTP://LOCALHOST./', /loop/],
    ['our own host percent-encoded', 'http://%6c%6f%63%61%6c%68%6f%73%74/', /loop/],
    ['127.0.0.1 when the public host is localhost', 'http://127.0.0.1:9/', /loop/],
    ['127.0.0.1 spelled in hex', 'http://0x7f.1/', /loop/],
    ['::1 when the public host is localhost', 'http://[::1]:8080/', /loop/],
    ['IPv4-mapped loopback, which reaches 127.0.0.1', 'http://[::ffff:127.0.0.1]/', /loop/],
    ['an OWN_HOSTS name', 'https://sw.example/abc', /loop/],
    ['an OWN_HOSTS name written with a dot and capitals', 'https://short.example/abc', /loop/],
    ['a blocked domain', 'https://evil.example/', /links to evil\.example are not accepted/],
    ['a subdomain of a blocked domain', 'https://a.b.EVIL.example./', /evil\.example/],
    ['credentials', 'https://user:pass@example.com/', /user name or password/],
    ['a user name alone', 'https://google.com@evil.test/', /user name or password/],
    ['a host without a dot', 'http://intranet/', /full domain name/],
    ['a host with an empty label', 'http://.com/', /not a valid host name/],
    ['a numeric top-level domain look-alike', 'http://example.c0m/', /top-level domain/],
    ['a one-letter top-level domain', 'http://example.c/', /top-level domain/],
    ['2049 characters', `https://example.com/${'a'.repeat(2049 - 20)}`, /2049 characters long; the limit is 2048/],
    ['a line feed', 'https://example.com/a\nb', /a line feed at position 22/],
    ['a carriage return', 'https://example.com/\r\nSet-Cookie: x', /a carriage return/],
    ['a tab', 'https://example.com/\tx', /a tab/],
    ['a space', 'https://example.com/a b', /a space/],
    ['a NUL', 'https://example.com/\u0000', /a NUL character/],
    ['a leading space', ' https://example.com/', /a space at position 1/],
    ['a DEL', 'https://example.com/\u007f', /U\+007F/],
    ['a C1 control', 'https://example.com/\u0085', /U\+0085/],
    ['a no-break space', 'https://example.com/\u00a0', /U\+00A0/],
    ['a line separator', 'https://example.com/\u2028', /U\+2028/],
    ['a right-to-left override', 'https://example.com/\u202egnp.exe', /U\+202E/],
    ['a zero-width space in the host', 'https://exa\u200bmple.com/', /U\+200B/]
  ]
  it.each(refused)('refuses %s with a message that says why', async (_name, input, message) => {
    await expect(checkUrl(input)).rejects.toThrow(expect.objectContaining({ code: 'SW_INVALID_URL', statusCode: 400, message: expect.stringMatching(message) }))
  })

  it('refuses the public host of a production base URL on any port, but not other hosts', async () => {
    const production = createUrlPolicy({ publicBaseUrl: 'https://sw.example' })
    await expect(production('http://SW.example:8080/x')).rejects.toThrow(/loop/)
    await expect(production('https://sw.example.org/x')).resolves.toBe('https://sw.example.org/x')
  })

  it('refuses a settings entry that is not a host name', () => {
    expect(() => createUrlPolicy({ publicBaseUrl: 'http://localhost:8080', blockedDomains: ['bad host'] })).toThrow(/BLOCKED_DOMAINS/)
  })
})
