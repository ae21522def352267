// Hostile input, as a table, through a real nginx in front of the real services: what a fuzzer
// would not think of. Every row says what must come back; none may be a 5xx.
import { createLinkRepository } from '@shortwave/common/link-repository'
import { countActiveLinks, createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendRaw, type Edge } from '../nginx/edge.ts'
import { redirectOf, startStack, type Stack } from '../helpers/stack.ts'
import { create, edgeInFront, follow } from './helpers.ts'

let infra: TestInfra
let stack: Stack
let edge: Edge
let created = 0

beforeAll(async () => {
  infra = await createTestInfra('sec_input')
  stack = await startStack(infra, {
    env: {
      // The local default: loopback spellings of it must all be caught.
      PUBLIC_BASE_URL: 'http://localhost:8080',
      OWN_HOSTS: 'short.example,203.0.113.7,[2001:db8::7]'
    }
  })
  edge = await edgeInFront(stack)
})

afterAll(async () => {
  await edge?.close()
  await stack?.close()
  await infra?.close()
})

async function expectRefused (body: unknown, message: RegExp): Promise<void> {
  const answer = await create(edge.url, body)
  expect({ status: answer.status, body: answer.json() })
    .toMatchObject({ status: 400, body: { statusCode: 400, message: expect.stringMatching(message) } })
}

async function expectStored (url: string): Promise<string> {
  const answer = await create(edge.url, { url })
  expect(answer.status).toBe(201)
  created++
  const key = answer.json()['key'] as string
  expect((await createLinkRepository(infra.cassandra).find(key))?.url).toBe(url)
  // Location is ASCII (invariant 7): an ASCII URL exactly as stored, nothing added or re-encoded;
  // any other as its WHATWG serialisation (punycode host, percent-encoded UTF-8).
  const redirect = await redirectOf(edge.url, key)
  expect(redirect.status).toBe(302)
  const location = /^[\x20-\x7e]*$/.test(url) ? url : new URL(url).href
  expect(redirect.location?.toString('latin1')).toBe(location)
  return key
}

describe('links back to the shortener itself (loops), in every spelling', () => {
  it.each([
    ['the public host', 'http://localhost:8080/x'],
    ['in capitals', 'HTTP://LOCALHOST:8080/x'],
    ['with a trailing dot', 'http://localhost./x'],
    ['with a trailing dot and the port', 'http://localhost.:8080/x'],
    ['on another port', 'http://localhost:9999/x'],
    ['over https', 'https://localhost/x'],
    ['percent-encoded', 'http://%6c%6f%63%61%6c%68%6f%73%74:8080/'],
    ['behind a user name (evil@)', 'http://evil@localhost:8080/'],
    ['as 127.0.0.1', 'http://127.0.0.1:8080/x'],
    ['as 127.1', 'http://127.1/x'],
    ['as a decimal IP', 'http://2130706433/x'],
    ['as a hex IP', 'http://0x7f000001/x'],
    ['as an octal IP', 'http://0177.0.0.1/x'],
    ['as IPv6 loopback', 'http://[::1]:8080/x'],
    ['as IPv6 loopback written out', 'http://[0:0:0:0:0:0:0:1]/x'],
    ['as IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/x'],
    ['as another loopback address', 'http://127.0.0.2/x'],
    ['as 0.0.0.0', 'http://0.0.0.0:8080/x'],
    ['as 0', 'http://0/x'],
    ['as a .localhost name', 'http://sw.localhost/x']
  ])('refuses %s: %s', async (_name, url) => {
    await expectRefused({ url }, /loop|public host|user name/)
  })

  it.each([
    ['short.example', 'https://short.example/x'],
    ['short.example in capitals with a trailing dot', 'https://SHORT.EXAMPLE./x'],
    ['short.example on a port', 'https://short.example:8443/x'],
    ['short.example percent-encoded', 'https://short%2Eexample/x'],
    ['203.0.113.7', 'http://203.0.113.7/'],
    ['203.0.113.7 as a decimal', 'http://3405803783/'],
    ['203.0.113.7 as hex', 'http://0xcb007107/'],
    ['203.0.113.7 as octal', 'http://0313.0.0161.07/'],
    ['203.0.113.7 in three parts', 'http://203.0.28935/'],
    ['203.0.113.7 as IPv4-mapped IPv6', 'http://[::ffff:203.0.113.7]/'],
    ['203.0.113.7 as IPv4-mapped IPv6 in hex', 'http://[::ffff:cb00:7107]/'],
    ['[2001:db8::7]', 'http://[2001:db8::7]/'],
    ['[2001:db8::7] written out, in capitals', 'http://[2001:0DB8:0000:0000:0000:0000:0000:0007]:8080/']
  ])('refuses the OWN_HOSTS entry %s: %s', async (_name, url) => {
    await expectRefused({ url }, /loop/)
  })
})

describe('private and metadata targets (invariant 8)', () => {
  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['the metadata address as a decimal', 'http://2852039166/'],
    ['the metadata address as IPv4-mapped IPv6', 'http://[::ffff:a9fe:a9fe]/'],
    ['an RFC 1918 address', 'http://10.0.0.1/'],
    ['an RFC 1918 address in octal', 'http://0300.0250.1.1/'],
    ['a CGNAT address', 'http://100.64.0.1/'],
    ['a unique-local IPv6 address', 'http://[fd00::1]/'],
    ['an IPv6 link-local address', 'http://[fe80::1]/'],
    ['a wildcard DNS name for a private address', 'https://app-192-168-1-1.nip.io/'],
    ['a .internal name', 'http://metadata.google.internal/']
  ])('refuses %s: %s', async (_name, url) => {
    const answer = await create(edge.url, { url })
    expect({ status: answer.status, body: answer.json() }).toMatchObject({ status: 400, body: { code: 'SW_URL_PRIVATE_TARGET', message: expect.stringMatching(/public host/) } })
  })
})

describe('control characters, CR/LF and invisible characters', () => {
  it.each([
    ['CR/LF (header splitting)', 'https://example.com/\r\nSet-Cookie: a=b'],
    ['a lone LF', 'https://example.com/a\nb'],
    ['NUL', 'https://example.com/\u0000'],
    ['a tab', 'https://exa\tmple.com/'],
    ['DEL', 'https://example.com/\u007f'],
    ['a C1 control (NEL)', 'https://example.com/\u0085'],
    ['a line separator', 'https://example.com/\u2028'],
    ['a right-to-left override', 'https://example.com/\u202etxt.exe'],
    ['a zero-width joiner in the host', 'https://exa\u200dmple.com/'],
    ['a byte order mark', '\ufeffhttps://example.com/']
  ])('refuses %s in the URL', async (_name, url) => {
    await expectRefused({ url }, /spaces or control characters/)
  })

  it('stores percent-encoded CR/LF verbatim and never lets it split the redirect', async () => {
    const url = 'https://example.com/%0d%0aSet-Cookie:%20a=b?x=%0A'
    const key = await expectStored(url)
    const answer = await follow(edge.url, key)
    expect(answer.headers.get('set-cookie')).toBeNull()
  })

  it('answers a control character in a request header at the edge, before any service', async () => {
    for (const value of ['a\u0000b', 'a\rb']) {
      const raw = await sendRaw(edge.port, `GET /some-key HTTP/1.1\r\nHost: x\r\nX-Note: ${value}\r\nConnection: close\r\n\r\n`)
      expect(raw).toMatch(/^HTTP\/1\.1 400 /)
    }
  })

  it('never echoes a client X-Request-Id that could carry markup or CR/LF', async () => {
    for (const id of ['<script>alert(1)</script>', 'a b', 'x'.repeat(200)]) {
      const response = await fetch(`${edge.url}/some-key`, { headers: { 'x-request-id': id } })
      await response.arrayBuffer()
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/)
      expect(response.headers.get('x-request-id')).not.toBe(id)
    }
  })
})

describe('look-alike (homograph) hosts', () => {
  it.each([
    ['a Cyrillic "а" in a Latin name', 'https://pаypal.com/login'],
    ['the same, as punycode', 'https://xn--pypal-4ve.com/login'],
    ['a Greek omicron in a Latin name', 'https://gοogle.com/'],
    ['a name of Cyrillic letters that all look Latin', 'https://аррӏе.com/'],
    ['a look-alike subdomain of an honest domain', 'https://pаypal.example.com/']
  ])('refuses %s', async (_name, url) => {
    await expectRefused({ url }, /look-alikes of other sites/)
  })

  it.each([
    ['a Latin name with diacritics', 'https://bücher.de/straße'],
    ['a Cyrillic name under a Cyrillic top-level domain', 'https://пример.рф/'],
    ['Latin-looking Cyrillic under a Cyrillic top-level domain', 'https://аррӏе.рф/'],
    ['a Greek name', 'https://ελλάδα.gr/'],
    ['Japanese (Han + Hiragana)', 'https://例え.jp/テスト'],
    ['Korean', 'https://한국어.kr/'],
    ['punycode of an honest name', 'https://xn--bcher-kva.de/']
  ])('accepts %s and redirects to it in ASCII', async (_name, url) => {
    await expectStored(url)
  })
})

describe('CQL metacharacters are data, never code (invariant 3)', () => {
  const nasty = '\'"; DROP TABLE links; -- /* */ $$ \\ %27 IF NOT EXISTS'

  it('stores a URL full of them verbatim and redirects to exactly it', async () => {
    await expectStored(`https://example.com/${encodeURIComponent(nasty)}?q='1';--&w="x"/**/#';DROP`)
    await expectStored("https://example.com/a'b;c--d$$e")
  })

  it.each([
    ['alias', { url: 'https://example.com/', alias: "x'; DROP TABLE links; --" }, /alias/],
    ['expiresAt', { url: 'https://example.com/', expiresAt: "2030-01-01'; DROP TABLE links; --" }, /expiresAt|date/],
    ['ttlSeconds', { url: 'https://example.com/', ttlSeconds: '1; DROP TABLE links' }, /ttlSeconds/],
    ['an unknown field', { url: 'https://example.com/', "x'; DROP TABLE links; --": 1 }, /./]
  ])('refuses them in %s with a 400', async (_name, body, message) => {
    await expectRefused(body, message)
  })

  it('accepts an alias that only looks like CQL (--) and serves it', async () => {
    const answer = await create(edge.url, { url: 'https://example.com/comment', alias: 'a--b_c-' })
    expect(answer.status).toBe(201)
    created++
    expect((await follow(edge.url, 'a--b_c-')).headers.get('location')).toBe('https://example.com/comment')
  })

  it('treats them in paths, query strings and headers as plain unknown values', async () => {
    const path = encodeURIComponent(nasty)
    expect((await follow(edge.url, path)).status).toBe(404)
    expect((await fetch(`${edge.url}/api/v1/links/${path}`)).status).toBe(404)
    expect((await fetch(`${edge.url}/api/v1/links/${path}/stats`)).status).toBe(404)
    expect((await fetch(`${edge.url}/api/v1/links?cursor=${path}`, { headers: { authorization: `Bearer ${nasty.replaceAll(' ', '')}` } })).status).toBe(401)
    const withKey = await create(edge.url, { url: 'https://example.com/idem' }, { 'idempotency-key': "k';DROP-TABLE-links;--" })
    expect(withKey.status).toBe(201)
    created++
    const again = await create(edge.url, { url: 'https://example.com/idem' }, { 'idempotency-key': "k';DROP-TABLE-links;--" })
    expect(again.json()['key']).toBe(withKey.json()['key'])
  })

  it('still has every table, with exactly the links this file created', async () => {
    expect(await countActiveLinks(infra.cassandra)).toBe(created)
  })
})
