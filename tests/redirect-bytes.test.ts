import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/common/testing/infra'
import { createLink, redirectOf, startStack, waitFor, type Stack } from './helpers/stack.ts'

// Through the real create API and the real redirect service: what goes in comes out, byte for byte.
const URLS = [
  'https://example.com/',
  'https://example.com/path?q=1&r=two#section-3',
  'https://example.com/a%2Fb%20c?x=%E2%9C%93&y=a+b',
  "https://example.com/it's;matrix=1/(paren)!*",
  'https://例え.jp/パス?q=ü&emoji=🎉#frag',
  'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9',
  'http://93.184.216.34:8443/deep/path/',
  `https://example.com/${'long/'.repeat(300)}`.slice(0, 2048)
]

describe('redirects through create and redirect services', () => {
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('e2e_bytes')
    stack = await startStack(infra)
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  it.each(URLS)('returns the stored URL byte for byte: %s', async (url) => {
    const created = await createLink(stack.createUrl, { url })
    expect(created.status).toBe(201)
    for (const method of ['GET', 'HEAD']) {
      const redirect = await redirectOf(stack.redirectUrl, created.body['key'] as string, method)
      expect(redirect.status).toBe(302)
      expect(redirect.location).toEqual(Buffer.from(url, 'utf8'))
    }
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
    await waitFor('the link to expire', async () => (await redirectOf(stack.redirectUrl, key)).status === 404, 10_000)
    // It must not have stopped early either: the 404 came only after the expiry instant.
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt)
    const meta = await fetch(`${stack.createUrl}/api/v1/links/${key}`)
    expect(meta.status).toBe(404)
  })
})
