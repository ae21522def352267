import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core'
import { join } from 'node:path'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, startStack, type Stack } from '../helpers/stack.ts'
import { send, startEdge, testEnv, type Edge } from '../nginx/edge.ts'
import { launchChromium, LOW_CONTRAST, SCREENSHOTS, startTarget, type Target } from './browser.ts'

// The page at / in a real chromium, through a real nginx on the shared config, in front of the
// real services. The browser knows the shortener as http://sw.test (the services' PUBLIC_BASE_URL,
// mapped to nginx) and the site links lead to as http://target.test:<port> (a local server):
// create-service refuses loopback targets, as it should.
const SITE = 'http://sw.test'
const KEY_URL = /^http:\/\/sw\.test\/([A-Za-z0-9_-]+)$/

describe('the web page, in chromium', () => {
  let infra: TestInfra
  let stack: Stack
  let edge: Edge
  let target: Target
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const consoleErrors: string[] = []

  const landing = () => `http://target.test:${target.port}/landing?from=browser`
  const shot = (name: string, on = page) => on.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
  const text = (selector: string, on = page) => on.locator(selector).textContent()
  const focused = (on = page) => on.evaluate('document.activeElement && document.activeElement.id')
  // A broken image is `complete` too: only a decoded one has a width.
  const qrShown = (on = page) => expect.poll(() => on.evaluate('document.getElementById("qr").complete && document.getElementById("qr").naturalWidth')).toBeGreaterThan(0)
  // Locators, not waitForFunction: the page's CSP forbids the eval() a string predicate needs.
  const filled = (selector: string, on = page) => on.locator(`${selector}:not(:empty)`).waitFor()

  function watch (on: Page): void {
    on.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`))
    on.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return
      const { url } = message.location()
      // Chromium logs every 4xx/5xx answer: the API's refusals are the point of some tests.
      if (url === `${SITE}/api/v1/links` && message.text().startsWith('Failed to load resource')) return
      consoleErrors.push(`${message.text()} (${message.location().url})`)
    })
  }

  async function shorten (on: Page, fields: { url: string, alias?: string, expiry?: string }): Promise<void> {
    await on.locator('#url').fill(fields.url)
    if (fields.alias) await on.locator('#alias').fill(fields.alias)
    if (fields.expiry) await on.locator('#expiry').selectOption({ label: fields.expiry })
    await on.locator('#shorten button[type=submit]').click()
  }

  beforeAll(async () => {
    infra = await createTestInfra('br_web')
    ;[stack, target] = await Promise.all([startStack(infra, { env: { PUBLIC_BASE_URL: SITE, DEFAULT_DOMAIN_HOSTS: 'sw.test,localhost,127.0.0.1' } }), startTarget()])
    const host = (url: string) => new URL(url).host
    edge = await startEdge((port) => testEnv({
      port, create: [host(stack.createUrl)], redirect: [host(stack.redirectUrl)], pageHosts: ['sw.test', 'localhost', '127.0.0.1']
    }))
    browser = await launchChromium({ 'sw.test': `127.0.0.1:${edge.port}`, 'target.test': '127.0.0.1' })
    context = await browser.newContext({ viewport: { width: 900, height: 800 } })
    page = await context.newPage()
    watch(page)
  })

  afterAll(async () => {
    await browser?.close()
    await edge?.close()
    await stack?.close()
    await target?.close()
    await infra?.close()
  })

  it('shows the form, with nothing refused by the page\'s Content-Security-Policy', async () => {
    const response = await page.goto(`${SITE}/`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    // The script reveals the form: seeing it proves app.js ran under the policy.
    await page.locator('#shorten').waitFor({ state: 'visible' })
    expect(await page.locator('label[for=url]').textContent()).toBe('Long URL')
    await shot('01-form')
    expect(consoleErrors).toEqual([])
  })

  it('shortens a URL through the form: the short link, a copy button and the QR code', async () => {
    await shorten(page, { url: landing(), expiry: 'In 1 day' })
    await page.locator('#result').waitFor({ state: 'visible' })
    const shortUrl = await text('#short-url')
    const key = KEY_URL.exec(shortUrl ?? '')?.[1]
    expect(key, shortUrl ?? '').toBeDefined()
    expect(await page.locator('#short-url').getAttribute('href')).toBe(shortUrl)
    // Focus moves to the result, so a screen reader reads it and Tab goes on to the link and the copy button.
    expect(await focused()).toBe('result-title')

    const stored = await send(`${edge.url}/api/v1/links/${key}`)
    expect(JSON.parse(stored.body)).toMatchObject({ url: landing(), shortUrl })
    const expiresIn = Date.parse(JSON.parse(stored.body).expiresAt) - Date.now()
    expect(expiresIn).toBeGreaterThan(86_400_000 - 60_000)
    expect(expiresIn).toBeLessThanOrEqual(86_400_000)
    expect(await text('#expires')).toMatch(/^Works until /)

    // On plain http (not localhost) there is no clipboard API: the fallback selects the link.
    await page.locator('#copy').click()
    await filled('#copy-status')
    expect(await text('#copy-status')).toMatch(/^(Copied\.|Selected: press Ctrl\+C)/)
    expect(await page.evaluate('String(getSelection())')).toBe(shortUrl)

    const qr = page.locator('#qr')
    expect(await qr.getAttribute('src')).toBe(`/api/v1/links/${key}/qr`)
    expect(await qr.getAttribute('alt')).toBe(`QR code for ${shortUrl}`)
    // The image really loads, from an endpoint that answers an SVG.
    await qrShown()
    const qrAnswer = await send(`${edge.url}/api/v1/links/${key}/qr`)
    expect(qrAnswer.status).toBe(200)
    expect(qrAnswer.headers['content-type']).toMatch(/^image\/svg\+xml/)
    await shot('02-created')
    expect(consoleErrors).toEqual([])
  })

  it('follows the short link to the target page', async () => {
    const shortUrl = await text('#short-url')
    const [landed] = await Promise.all([
      page.waitForResponse((response) => response.url() === landing()),
      page.locator('#short-url').click()
    ])
    // Through the redirect service: the short link answered 302 with the target as Location.
    const hop = landed.request().redirectedFrom()
    expect(hop?.url()).toBe(shortUrl)
    expect((await hop?.response())?.status()).toBe(302)
    await page.waitForURL(landing())
    expect(await text('h1')).toBe('You have landed')
    expect(await text('#path')).toBe('/landing?from=browser')
    await shot('03-landed')
  })

  it('shows the API\'s own message next to the URL field for a javascript: URL', async () => {
    await page.goto(`${SITE}/`)
    // Nothing to send at all is the one thing the page says by itself.
    await page.locator('#shorten button[type=submit]').click()
    await filled('#url-error')
    expect(await text('#url-error')).toBe('Paste the URL you want to shorten.')
    await shorten(page, { url: 'javascript:alert(1)' })
    await page.locator('#url-error', { hasText: 'http://' }).waitFor()
    const api = await createLink(stack.createUrl, { url: 'javascript:alert(1)' })
    expect(api.status).toBe(400)
    expect(await text('#url-error')).toBe(api.body['message'])
    expect(await page.locator('#url').getAttribute('aria-invalid')).toBe('true')
    expect(await focused()).toBe('url')
    expect(await page.locator('#result').isVisible()).toBe(false)
    await shot('04-bad-url')
  })

  it('says an alias is taken next to the alias field', async () => {
    const alias = `taken-${Date.now().toString(36)}`
    expect((await createLink(stack.createUrl, { url: landing(), alias })).status).toBe(201)
    await page.goto(`${SITE}/`)
    await shorten(page, { url: landing(), alias })
    await filled('#alias-error')
    expect(await text('#alias-error')).toBe(`The alias "${alias}" is already taken; choose another one`)
    expect(await focused()).toBe('alias')
    expect(await page.evaluate(LOW_CONTRAST)).toEqual([])
    await shot('05-alias-taken')
    // Typing a new alias clears the complaint.
    await page.locator('#alias').fill(`${alias}-2`)
    expect(await text('#alias-error')).toBe('')
    expect(await page.locator('#alias').getAttribute('aria-invalid')).toBeNull()
  })

  it('puts every other refusal in words, with the wait a 429 asks for', async () => {
    interface Case {
      status: number, headers: Record<string, string>, where: string, says: RegExp, message?: string, code?: string
    }
    const cases: Case[] = [
      { status: 429, headers: { 'retry-after': '30' }, where: '#form-error', says: /try again in 30 seconds/ },
      { status: 401, headers: {}, where: '#form-error', says: /API key/ },
      { status: 413, headers: {}, where: '#url-error', says: /too long/ },
      { status: 415, headers: {}, where: '#form-error', says: /reload the page/ },
      { status: 503, headers: { 'retry-after': '5' }, where: '#form-error', says: /unavailable.*try again in 5 seconds/ },
      { status: 400, headers: {}, where: '#expiry-error', says: /^expiresAt .* is in the past$/, message: 'expiresAt 2020-01-01T00:00:00.000Z is in the past', code: 'SW_INVALID_EXPIRY' }
    ]
    await page.goto(`${SITE}/`)
    for (const c of cases) {
      await page.route('**/api/v1/links', (route) => route.fulfill({
        status: c.status,
        headers: c.headers,
        contentType: 'application/json',
        body: JSON.stringify({ statusCode: c.status, error: 'From the test', message: c.message ?? 'a message meant for programmers', code: c.code })
      }))
      await shorten(page, { url: landing() })
      await filled(c.where)
      expect(await text(c.where), String(c.status)).toMatch(c.says)
      if (c.status === 429) await shot('06-rate-limited')
      await page.unrouteAll()
    }
    await page.route('**/api/v1/links', (route) => route.abort('connectionrefused'))
    await shorten(page, { url: landing() })
    await filled('#form-error')
    expect(await text('#form-error')).toMatch(/could not be reached/)
    await page.unrouteAll()
  })

  it('works from the keyboard alone, with a visible focus ring', async () => {
    await page.goto(`${SITE}/`)
    await page.locator('#shorten').waitFor({ state: 'visible' })
    const tab = async (to: string) => {
      await page.keyboard.press('Tab')
      expect(await page.evaluate('document.activeElement.id || document.activeElement.type')).toBe(to)
    }
    await tab('url')
    await page.keyboard.type(landing())
    await tab('alias')
    await page.keyboard.type(`kb-${Date.now().toString(36)}`)
    await tab('expiry')
    await tab('submit')
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid')
    await shot('09-keyboard-focus')
    await page.keyboard.press('Enter')
    await page.locator('#result').waitFor({ state: 'visible' })
    expect(await focused()).toBe('result-title')
    await tab('short-url')
    await tab('copy')
    await page.keyboard.press('Enter')
    await filled('#copy-status')
  })

  it('sends a chosen date and time as an instant in the browser\'s time zone', async () => {
    const kolkata = await browser.newPage({ timezoneId: 'Asia/Kolkata' }) // UTC+05:30, no summer time
    watch(kolkata)
    await kolkata.goto(`${SITE}/`)
    await kolkata.locator('#url').fill(landing())
    await kolkata.locator('#expiry').selectOption({ label: 'At a date and time…' })
    await kolkata.locator('#expires-at').waitFor({ state: 'visible' })
    const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10)
    await kolkata.locator('#expires-at').fill(`${day}T12:00`)
    await shot('10-expiry-date', kolkata)
    await kolkata.locator('#shorten button[type=submit]').click()
    await kolkata.locator('#result').waitFor({ state: 'visible' })
    const key = KEY_URL.exec(await text('#short-url', kolkata) ?? '')?.[1]
    const stored = JSON.parse((await send(`${edge.url}/api/v1/links/${key}`)).body)
    expect(stored.expiresAt).toBe(`${day}T06:30:00.000Z`)
    // The form starts over, the date input hidden again.
    expect(await kolkata.locator('#expires-at').isVisible()).toBe(false)
    await kolkata.close()
  })

  it('fits a 320 px wide screen, in the dark colour scheme too', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const narrow = await browser.newPage({ viewport: { width: 320, height: 640 }, colorScheme })
      watch(narrow)
      await narrow.goto(`${SITE}/`)
      await shorten(narrow, { url: `${landing()}&${'long-query=parameter&'.repeat(8)}`, expiry: 'In 1 week' })
      await narrow.locator('#result').waitFor({ state: 'visible' })
      await qrShown(narrow)
      expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(320)
      expect(await narrow.evaluate(LOW_CONTRAST)).toEqual([])
      await shot(`07-narrow-${colorScheme}`, narrow)
      await narrow.close()
    }
    expect(consoleErrors).toEqual([])
  })

  it('explains itself without JavaScript, and hides the form that could not work', async () => {
    const noScript = await browser.newPage({ javaScriptEnabled: false, viewport: { width: 320, height: 640 } })
    await noScript.goto(`${SITE}/`)
    expect(await noScript.locator('noscript p').first().innerText()).toMatch(/^This page needs JavaScript.*curl .*\/api\/v1\/links$/s)
    expect(await noScript.locator('#shorten').isVisible()).toBe(false)
    expect(await noScript.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(320)
    await shot('11-no-javascript', noScript)
    await noScript.close()
  })

  it('shows the styled 404 page for an unknown key, with a way back', async () => {
    const response = await page.goto(`${SITE}/NoSuchKey42`)
    expect(response?.status()).toBe(404)
    expect(await text('h1')).toBe('Link not found')
    // The page's stylesheet applies (36rem column), served by nginx next to the redirect's answer.
    expect(await page.evaluate('getComputedStyle(document.querySelector("main")).maxWidth')).toBe('576px')
    expect(await page.evaluate(LOW_CONTRAST)).toEqual([])
    await shot('08-not-found')
    await Promise.all([page.waitForURL(`${SITE}/`), page.locator('a[href="/"]').click()])
    await page.locator('#shorten').waitFor({ state: 'visible' })
  })
})
