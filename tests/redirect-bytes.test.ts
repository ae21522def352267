import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, redirectOf, startStack, waitFor, type Stack } from './helpers/stack.ts'

// Through the real create API and the real redirect service, what Location carries (design.md
// invariant 7): an ASCII URL byte for byte, as stored; any other as new URL(stored).href, which is
// ASCII. The API keeps answering with the URL as it was submitted.
const ASCII_URLS = [
  'https://example.com/',
  'https://example.com/path?q=1&r=two#section-3',
  'https://example.com/a%2Fb%20c?x=%E2%9C%93&y=a+b',
  "https://example.com/it's;matrix=1/(paren)!*",
  'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9',
  // A parser would rewrite each of these (case, default port, dot segments, quotes in the query);
  // a signed URL's signature covers its bytes, so the redirect must not.
  'HTTP://Example.COM/Signed?X-Sig=AbC%2b%2F%3D&e=1',
  "https://example.com:443/a/./b/../c?q='x'",
  'http://93.184.216.34:8443/deep/path/',
  `https://example.com/${'long/'.repeat(300)}`.slice(0, 2048)
]
const UNICODE_URLS = [
  'https://例え.jp/パス?q=ü',
  'https://例え.jp/パス?q=ü&emoji=🎉#frag',
  'HTTPS://Bücher.DE:443/straße/%C3%9F?sig=%2b&q=\'ü\'',
  'https://example.com/ünïcödé/😀'
]

const run = promisify(execFile)
const isAscii = (bytes: Buffer) => bytes.every((byte) => byte < 0x80)

describe('redirects through create and redirect services', () => {
  let infra: TestInfra
  let stack: Stack

  async function shorten (url: string): Promise<string> {
    const created = await createLink(stack.createUrl, { url })
    expect(created.status).toBe(201)
    expect(created.body['url']).toBe(url)
    const key = created.body['key'] as string
    const read = await fetch(`${stack.createUrl}/api/v1/links/${key}`)
    expect((await read.json() as Record<string, unknown>)['url']).toBe(url)
    return key
  }

  beforeAll(async () => {
    infra = await createTestInfra('e2e_bytes')
    stack = await startStack(infra)
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  it.each(ASCII_URLS)('sends the ASCII URL byte for byte: %s', async (url) => {
    const key = await shorten(url)
    for (const method of ['GET', 'HEAD']) {
      const redirect = await redirectOf(stack.redirectUrl, key, method)
      expect(redirect.status).toBe(302)
      expect(redirect.location).toEqual(Buffer.from(url, 'ascii'))
    }
  })

  it.each(UNICODE_URLS)('sends the WHATWG serialisation of %s, in ASCII', async (url) => {
    const key = await shorten(url)
    const href = new URL(url).href
    expect(href).not.toBe(url)
    for (const method of ['GET', 'HEAD']) {
      const redirect = await redirectOf(stack.redirectUrl, key, method)
      expect(redirect.status).toBe(302)
      expect(isAscii(redirect.location!)).toBe(true)
      expect(redirect.location!.toString('ascii')).toBe(href)
    }
  })

  it('gives fetch and curl an ASCII Location equal to new URL(stored).href', async () => {
    const url = UNICODE_URLS[0]!
    const key = await shorten(url)
    const href = new URL(url).href
    expect(href).toBe('https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%C3%BC')

    const fetched = await fetch(`${stack.redirectUrl}/${key}`, { redirect: 'manual' })
    expect(fetched.status).toBe(302)
    // fetch decodes header bytes as latin1: raw UTF-8 would come out as mojibake here.
    expect(fetched.headers.get('location')).toBe(href)

    const { stdout } = await run('curl', ['-sI', '--max-time', '10', `${stack.redirectUrl}/${key}`], { encoding: 'buffer' })
    const line = stdout.toString('latin1').split('\r\n').find((l) => /^location:/i.test(l))
    expect(line, stdout.toString('latin1')).toBeDefined()
    const bytes = Buffer.from(line!.slice('location:'.length).trim(), 'latin1')
    expect(isAscii(bytes)).toBe(true)
    expect(bytes.toString('ascii')).toBe(href)
  })

  it('answers 404 for a key nobody created', async () => {
    expect((await redirectOf(stack.redirectUrl, 'nobody-made-this')).status).toBe(404)
  })

  it('stops redirecting once ttlSeconds has passed', async () => {
    const created = await createLink(stack.createUrl, { url: 'https://example.com/short-lived', ttlSeconds: 2 })
    expect(created.status).toBe(201)
    const key = created.body['key'] as string
    expect((await redirectOf(stack.redirectUrl, key)).status).toBe(302)
    const expiresAt = Date.parse(created.body['expiresAt'] as string)
    await waitFor('the link to expire', async () => (await redirectOf(stack.redirectUrl, key)).status === 410, 10_000)
    // It must not have stopped early either: the 410 came only after the expiry instant.
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt)
    // Nobody owns it, so nobody may read it any more.
    const meta = await fetch(`${stack.createUrl}/api/v1/links/${key}`)
    expect(meta.status).toBe(404)
  })
})
