import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { join } from 'node:path'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, startStack, type Stack } from '../helpers/stack.ts'
import { edgeInFront } from '../security/helpers.ts'
import type { Edge } from '../nginx/edge.ts'
import { launchChromium, SCREENSHOTS, startTarget, type Target } from './browser.ts'

// A short link to a Unicode URL, followed by a real chromium through a real nginx in front of the
// real services (design.md invariant 7). The IDN host is mapped to a local server, so what the
// browser asked for after the redirect is seen on the wire: the punycode Host and the
// percent-encoded UTF-8 path and query.
const SITE = 'http://sw.test'
const IDN_HOST = '例え.jp'
const PUNYCODE_HOST = 'xn--r8jz45g.jp'

describe('a short link to an IDN URL, in chromium', () => {
  let infra: TestInfra
  let stack: Stack
  let edge: Edge
  let target: Target
  let browser: Browser

  beforeAll(async () => {
    infra = await createTestInfra('br_idn')
    ;[stack, target] = await Promise.all([startStack(infra, { env: { PUBLIC_BASE_URL: SITE, DEFAULT_DOMAIN_HOSTS: 'sw.test,localhost,127.0.0.1' } }), startTarget()])
    edge = await edgeInFront(stack)
    // Chromium matches the rules against the host it resolves, which is the punycode form; a rule
    // spelled in Unicode makes it drop every rule (even sw.test then fails to resolve).
    browser = await launchChromium({ 'sw.test': `127.0.0.1:${edge.port}`, [PUNYCODE_HOST]: '127.0.0.1' })
  })

  afterAll(async () => {
    await browser?.close()
    await edge?.close()
    await stack?.close()
    await target?.close()
    await infra?.close()
  })

  it('lands on the intended host, path and query', async () => {
    const url = `http://${IDN_HOST}:${target.port}/パス?q=ü`
    const created = await createLink(stack.createUrl, { url })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body['url']).toBe(url)
    const intended = `http://${PUNYCODE_HOST}:${target.port}/%E3%83%91%E3%82%B9?q=%C3%BC`

    const page = await browser.newPage()
    try {
      const landed = await page.goto(`${SITE}/${created.body['key'] as string}`)
      expect(landed?.status()).toBe(200)
      expect(page.url()).toBe(intended)
      expect(await page.locator('h1').textContent()).toBe('You have landed')
      expect(await page.locator('#path').textContent()).toBe('/%E3%83%91%E3%82%B9?q=%C3%BC')
      // The redirect as chromium received it: an ASCII Location, the WHATWG serialisation.
      const redirect = await landed!.request().redirectedFrom()?.response()
      expect(redirect?.status()).toBe(302)
      expect(redirect?.headers()['location']).toBe(intended)
      // The favicon chromium asks for on its own is not the page.
      expect(target.received.filter(({ path }) => path !== '/favicon.ico')).toEqual([{ path: '/%E3%83%91%E3%82%B9?q=%C3%BC', host: `${PUNYCODE_HOST}:${target.port}` }])
      await page.screenshot({ path: join(SCREENSHOTS, 'idn-landed.png') })
    } finally {
      await page.close()
    }
  })
})
