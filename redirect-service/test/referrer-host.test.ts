import { describe, expect, it } from 'vitest'
import { DIRECT, referrerHost } from '../src/analytics/referrer-host.ts'

describe('referrerHost', () => {
  it.each([
    ['https://www.google.com/', 'google.com'],
    ['https://news.ycombinator.com/item?id=1', 'news.ycombinator.com'],
    ['http://T.CO/abc', 't.co'],
    ['https://Example.COM.:8443/a#b', 'example.com'],
    ['https://user:secret@mail.example.org/inbox', 'mail.example.org'],
    ['https://bücher.example/liste', 'xn--bcher-kva.example'],
    ['https://www.com/', 'www.com'],
    ['http://203.0.113.7:8080/', '203.0.113.7'],
    ['http://[2001:DB8::1]/', '[2001:db8::1]'],
    // UTF-8 bytes that Node read as Latin-1: an odd host, but a valid one.
    ['https://\u00c3\u00a9\u00ff.example/', 'xn--gba9ind.example'],
    // A soft hyphen is mapped away by IDNA.
    ['https://a\u00ad.example/', 'a.example']
  ])('reads %s as %s', (referer, host) => {
    expect(referrerHost(referer)).toBe(host)
  })

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['a path alone', '/somewhere'],
    ['not a URL', 'hello there'],
    ['android-app', 'android-app://com.google.android.gm/'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['a host with a space', 'https://exa mple.com/'],
    ['a label over 63 characters', `https://${'a'.repeat(64)}.example/`],
    ['a host over 253 characters', `https://${Array.from({ length: 9 }, () => 'a'.repeat(30)).join('.')}/`],
    ['a header of 100 kB', `https://example.com/${'x'.repeat(100_000)}`],
    ['control characters', 'https://exa\u0000mple.com/'],
    ['C1 control characters', 'https://\u0080\u0081.example/'],
    ['a replacement character (bytes that were not UTF-8)', 'https://\ufffd.example/'],
    ['a bad percent escape in the host', 'https://%zz.example/']
  ])('answers direct when the Referer is %s', (_, referer) => {
    expect(referrerHost(referer)).toBe(DIRECT)
  })
})
