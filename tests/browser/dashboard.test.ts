import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import AxeBuilder from '@axe-core/playwright'
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '@shortwave/common/config'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createApiKeyRepository } from '../../create-service/src/api-keys.ts'
import { buildApp as buildEventWorker } from '../../event-worker/src/app.ts'
import { configSchema as eventWorkerSchema } from '../../event-worker/src/config.ts'
import { startStack, waitFor, type Stack } from '../helpers/stack.ts'
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'
import { send, startEdge, testEnv, type Edge } from '../nginx/edge.ts'
import { launchChromium, LOW_CONTRAST, SCREENSHOTS } from './browser.ts'

// The dashboard at / in a real chromium, through a real nginx on the shared configuration, in front
// of the real services on the real Cassandra and Redis, signed in with real API keys. One flow per
// view; axe on every view; screenshots of every view at 375 and 1280 px, light and dark; what the
// first load weighs and how soon a list of a 1,000-link account is interactive (README, "The web
// page"). Links may lead to loopback here (ALLOWED_TARGET_NETWORKS), for the webhook receiver.
const SITE = 'http://sw.test'
const ENV = {
  PUBLIC_BASE_URL: SITE,
  DEFAULT_DOMAIN_HOSTS: 'sw.test,localhost,127.0.0.1',
  ALLOWED_TARGET_NETWORKS: '127.0.0.0/8',
  CLICK_FLUSH_INTERVAL_MS: '200',
  CLICK_FOLD_INTERVAL_MS: '200'
}
const FIGURES = join(SCREENSHOTS, 'dashboard-figures.json')
// What the issue asks of the first load and of the list (README records the measured figures).
const FIRST_LOAD_BUDGET = 150 * 1024
const INTERACTIVE_BUDGET_MS = 1000

interface Key { id: string, secret: string }

describe('the dashboard, in chromium', () => {
  let infra: TestInfra
  let stack: Stack
  let edge: Edge
  let browser: Browser
  let receiver: Receiver
  let events: FastifyInstance
  let admin: Key
  let user: Key
  const problems: string[] = []
  const figures: Record<string, unknown> = {}

  // Straight to create-service, as another client of the API would.
  interface Answer<T> { status: number, body: T, etag: string | null }
  async function api<T = Record<string, unknown>> (
    secret: string, method: string, path: string, body?: unknown
  ): Promise<Answer<T>> {
    const response = await fetch(`${stack.createUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T, etag: response.headers.get('etag') }
  }

  type Made = { key: string, shortUrl: string, domain: string }
  async function newLink (secret: string, body: Record<string, unknown>): Promise<Made> {
    const answer = await api<Made>(secret, 'POST', '/api/v1/links', body)
    expect(answer.status, JSON.stringify(answer.body)).toBe(201)
    return answer.body
  }

  function watch (page: Page): Page {
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
    page.on('dialog', (dialog) => { problems.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`); dialog.dismiss().catch(() => {}) })
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return
      // Chromium logs every 4xx answer: some refusals are what a test is about.
      if (message.text().startsWith('Failed to load resource')) return
      problems.push(`${message.text()} (${message.location().url})`)
    })
    return page
  }

  /** A page signed in with `secret` (put in sessionStorage as the sign-in form does), at `width`. */
  type Opened = { context: BrowserContext, page: Page }
  async function signedIn (secret: string, opts: { width?: number, dark?: boolean } = {}): Promise<Opened> {
    const context = await browser.newContext({
      viewport: { width: opts.width ?? 1280, height: 900 },
      colorScheme: opts.dark === true ? 'dark' : 'light',
      acceptDownloads: true
    })
    await context.addInitScript(`sessionStorage.setItem('shortwave.apiKey', ${JSON.stringify(secret)})`)
    return { context, page: watch(await context.newPage()) }
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
  const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.trim() ?? ''

  async function axe (page: Page, view: string): Promise<void> {
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze()
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)
    figures[`axe ${view}`] = { serious_or_critical: bad.length, all: result.violations.length, passes: result.passes.length }
    expect(bad, view).toEqual([])
  }

  /** Presses Tab until the focused element matches `selector` (at most 80 times), proving it is reachable. */
  async function tabTo (page: Page, selector: string): Promise<void> {
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab')
      if (await page.evaluate(`document.activeElement && document.activeElement.matches(${JSON.stringify(selector)})`)) return
    }
    throw new Error(`Tab never reached ${selector}`)
  }

  beforeAll(async () => {
    infra = await createTestInfra('br_dash')
    ;[stack, receiver] = await Promise.all([startStack(infra, { env: ENV }), startReceiver()])
    events = await buildEventWorker(loadConfig(eventWorkerSchema, {
      ...infra.env, ...ENV, WORKER_ID: 'dashboard-test', EVENT_POLL_INTERVAL_MS: '50', DELIVERY_BACKOFF_BASE_MS: '100'
    }), { cassandra: infra.cassandra, logger: false })
    await events.ready()
    const host = (url: string) => new URL(url).host
    edge = await startEdge((port) => testEnv({
      port, create: [host(stack.createUrl)], redirect: [host(stack.redirectUrl)], pageHosts: ['sw.test', 'localhost', '127.0.0.1']
    }))
    const keys = createApiKeyRepository(infra.cassandra)
    const [a, u] = await Promise.all([keys.create('dash-admin', 'admin'), keys.create('dash-user', 'user')])
    admin = { id: a.key.id, secret: a.secret }
    user = { id: u.key.id, secret: u.secret }
    browser = await launchChromium({ 'sw.test': `127.0.0.1:${edge.port}` })
  })

  afterAll(async () => {
    if (Object.keys(figures).length > 0) await writeFile(FIGURES, JSON.stringify(figures, null, 2) + '\n')
    await browser?.close()
    await edge?.close()
    await events?.close()
    await stack?.close()
    await receiver?.close()
    await infra?.close()
  })

  it('signs in with an API key kept in this tab only and sent only as a Bearer header, and signs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = watch(await context.newPage())
    const requests: Array<{ url: string, authorization: string | undefined }> = []
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers()['authorization'] }))
    await page.goto(`${SITE}/`)
    // Anonymous visitors still get the quick form, and the sign-in below it.
    await page.locator('#shorten').waitFor({ state: 'visible' })
    await page.locator('#api-key').fill('sw_' + 'x'.repeat(43))
    await page.locator('#sign-in button[type=submit]').click()
    await page.locator('#api-key-error:not(:empty)').waitFor()
    expect(await text(page, '#api-key-error')).toMatch(/not valid/)
    expect(await page.evaluate('sessionStorage.length')).toBe(0)

    await page.locator('#api-key').fill(user.secret)
    await page.locator('#sign-in button[type=submit]').click()
    await page.locator('.who').waitFor()
    expect(await text(page, '.who')).toMatch(/Signed in as dash-user/)
    expect(await page.evaluate('sessionStorage.getItem("shortwave.apiKey")')).toBe(user.secret)
    expect(await page.evaluate('localStorage.length')).toBe(0)
    expect(await context.cookies()).toEqual([])
    // The key went as a Bearer header to the API only, and in no URL.
    expect(requests.filter((r) => r.url.includes(user.secret))).toEqual([])
    const withKey = requests.filter((r) => r.authorization !== undefined)
    expect(withKey.length).toBeGreaterThan(0)
    for (const r of withKey) {
      expect([`Bearer ${user.secret}`, `Bearer sw_${'x'.repeat(43)}`]).toContain(r.authorization)
      expect(new URL(r.url).pathname).toMatch(/^\/api\/v1\//)
    }
    // A reload keeps the session (same tab); signing out forgets the key.
    await page.reload()
    await page.locator('.who').waitFor()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.locator('#shorten').waitFor({ state: 'visible' })
    expect(await page.evaluate('sessionStorage.getItem("shortwave.apiKey")')).toBeNull()
    // nginx logged no key (it logs no Authorization header, and the key was in no URL).
    expect(JSON.stringify(await edge.accessLog())).not.toContain(user.secret)
    await context.close()
    expect(problems).toEqual([])
  })

  it('goes from create to list to edit to stats with the keyboard alone', async () => {
    const { context, page } = await signedIn(user.secret)
    await page.goto(`${SITE}/#/links`)
    await page.locator('h1', { hasText: 'Your links' }).waitFor()
    const alias = `kb-${Date.now().toString(36)}`
    await tabTo(page, 'a[href="#/new"]')
    await page.keyboard.press('Enter')
    await page.locator('#lf-url').waitFor()
    await tabTo(page, '#lf-url')
    await page.keyboard.type('https://example.com/keyboard')
    await tabTo(page, '#lf-alias')
    await page.keyboard.type(alias)
    await tabTo(page, '#lf-title')
    await page.keyboard.type('Typed without a mouse')
    await tabTo(page, '#lf-tags')
    await page.keyboard.type('keyboard, a11y')
    await tabTo(page, '#lf-submit')
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid')
    await page.keyboard.press('Enter')
    await page.locator('h1', { hasText: alias }).waitFor()
    await page.locator('[role=status]', { hasText: 'Link created.' }).waitFor()

    // To the list, where the new link is first; Enter on it opens it.
    await tabTo(page, 'nav a[href="#/links"]')
    await page.keyboard.press('Enter')
    await page.locator('#links').waitFor()
    expect(await text(page, '#links tbody tr td')).toContain(alias)
    await tabTo(page, `#links a[href^="#/link/${alias}"]`)
    await page.keyboard.press('Enter')
    await page.locator('#lf-title').waitFor()
    await tabTo(page, '#lf-title')
    await page.keyboard.press('Control+A')
    await page.keyboard.type('Edited from the keyboard')
    await tabTo(page, '#lf-submit')
    await page.keyboard.press('Enter')
    await page.locator('[role=status]', { hasText: 'Changes saved.' }).waitFor()
    expect((await api<{ title: string }>(user.secret, 'GET', `/api/v1/links/${alias}`)).body.title).toBe('Edited from the keyboard')
    await tabTo(page, 'a.button[href*="/stats"]')
    await page.keyboard.press('Enter')
    await page.locator('#totals').waitFor()
    expect(await text(page, 'h1')).toContain(alias)
    await context.close()
    expect(problems).toEqual([])
  })

  it('lists links with search, tag and domain filters, sort by clicks, clicks per link and pages', async () => {
    const secret = (await createApiKeyRepository(infra.cassandra).create('dash-list', 'user')).secret
    const made: string[] = []
    for (let i = 0; i < 55; i++) {
      made.push((await newLink(secret, { url: `https://example.com/list/${i}`, title: i % 5 === 0 ? `Quarterly report ${i}` : `Page ${i}`, tags: i % 2 === 0 ? ['even'] : ['odd'] })).key)
    }
    // Three clicks on the oldest link: sorted by clicks it comes first.
    for (let i = 0; i < 3; i++) expect((await send(`${edge.url}/${made[0]!}`, { headers: { host: 'sw.test' } })).status).toBe(302)
    await waitFor('the fold to count the clicks', async () =>
      (await api<{ links: Array<{ clicks: number }> }>(secret, 'GET', '/api/v1/links?sort=clicks&limit=1')).body.links[0]?.clicks === 3)
    const { context, page } = await signedIn(secret)
    await page.goto(`${SITE}/#/links`)
    await page.locator('#links tbody tr').first().waitFor()
    expect(await page.locator('#links tbody tr').count()).toBe(50)
    // Newest first, then the next page holds the last five, and back.
    expect(await text(page, '#links tbody tr td')).toContain(made[54]!)
    await page.getByRole('button', { name: 'Next page' }).click()
    await page.locator('#links tbody tr').nth(4).waitFor()
    await expect.poll(() => page.locator('#links tbody tr').count()).toBe(5)
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Previous page' }).click()
    await expect.poll(() => page.locator('#links tbody tr').count()).toBe(50)

    await page.locator('#f-q').fill('quarterly')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('#links tbody tr').count()).toBe(11)
    expect(page.url()).toContain('q=quarterly')
    await page.locator('#f-q').fill('')
    await page.locator('#f-tag').fill('odd')
    await page.locator('#f-sort').selectOption('clicks')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('#links tbody tr').count()).toBe(27)
    await page.locator('#f-tag').fill('')
    await page.locator('#f-domain').selectOption('sw.test')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(async () => text(page, '#links tbody tr td')).toContain(made[0]!)
    expect(await text(page, '#links tbody tr td.num')).toBe('3')
    await shot(page, 'dashboard-list-filtered')
    // A tag is a link to its filter.
    await page.locator('#links a.tag', { hasText: 'even' }).first().click()
    await expect.poll(() => page.url()).toContain('tag=even')
    await context.close()
    expect(problems).toEqual([])
  })

  it('shows a link: edits with its ETag, refuses an edit made stale elsewhere, disables, copies, downloads its QR, keeps its history, deletes after asking', async () => {
    const link = await newLink(user.secret, { url: 'https://example.com/detail', title: 'Detail page', tags: ['detail'] })
    const { context, page } = await signedIn(user.secret)
    await page.goto(`${SITE}/#/link/${link.key}?domain=${link.domain}`)
    await page.locator('#lf-url').waitFor()
    expect(await page.locator('#lf-url').inputValue()).toBe('https://example.com/detail')

    await page.locator('#lf-url').fill('https://example.com/detail/v2')
    await page.locator('#lf-maxClicks').fill('100')
    await page.locator('#lf-redirectStatus').selectOption('307')
    await page.locator('#lf-submit').click()
    await page.locator('[role=status]', { hasText: 'Changes saved.' }).waitFor()
    const after = await api<Record<string, unknown>>(user.secret, 'GET', `/api/v1/links/${link.key}`)
    expect(after.body).toMatchObject({ url: 'https://example.com/detail/v2', maxClicks: 100, redirectStatus: 307, title: 'Detail page', tags: ['detail'] })
    await page.locator('#history li', { hasText: 'Version 1' }).waitFor()
    expect(await text(page, '#history')).toContain('https://example.com/detail → https://example.com/detail/v2')

    // Someone else edits the link; this form's ETag is now stale, so its edit is refused, not applied.
    expect((await api(user.secret, 'PATCH', `/api/v1/links/${link.key}`, { title: 'Changed elsewhere' })).status).toBe(200)
    await page.locator('#lf-title').fill('Mine')
    await page.locator('#lf-submit').click()
    await page.locator('#lf-form-error:not(:empty)').waitFor()
    expect(await text(page, '#lf-form-error')).toMatch(/changed elsewhere/)
    expect((await api<{ title: string }>(user.secret, 'GET', `/api/v1/links/${link.key}`)).body.title).toBe('Changed elsewhere')
    // A refused field is named next to it.
    await page.reload()
    await page.locator('#lf-url').fill('ftp://example.com/nope')
    await page.locator('#lf-submit').click()
    await page.locator('#lf-url-error:not(:empty)').waitFor()
    expect(await page.locator('#lf-url').getAttribute('aria-invalid')).toBe('true')

    await page.reload()
    await page.locator('#toggle-disabled', { hasText: 'Disable' }).click()
    await page.locator('[role=status]', { hasText: 'no longer redirects' }).waitFor()
    await waitFor('the redirect to stop', async () => (await send(`${edge.url}/${link.key}`, { headers: { host: 'sw.test' } })).status === 404)
    await page.locator('#toggle-disabled', { hasText: 'Enable' }).click()
    await page.locator('[role=status]', { hasText: 'redirects again' }).waitFor()

    // http://sw.test is no secure context, so no clipboard API: the copy goes through a selection.
    await page.locator('#detail-copy').click()
    await page.locator('.copy-status:not(:empty)').waitFor()
    expect(await text(page, '.copy-status')).toBe('Copied.')

    for (const format of ['svg', 'png']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download QR (${format.toUpperCase()})` }).click()])
      expect(download.suggestedFilename()).toBe(`${link.key}.${format}`)
      const bytes = await readFile((await download.path())!)
      if (format === 'png') expect(bytes.subarray(1, 4).toString()).toBe('PNG')
      else expect(bytes.toString()).toMatch(/^<svg|^<\?xml/)
    }
    await shot(page, 'dashboard-detail')

    // Cancel keeps the link; confirming deletes it.
    await page.locator('#delete').click()
    await page.locator('dialog[open]').waitFor()
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.locator('dialog[open]').waitFor({ state: 'detached' })
    expect((await api(user.secret, 'GET', `/api/v1/links/${link.key}`)).status).toBe(200)
    await page.locator('#delete').click()
    await page.getByRole('button', { name: 'Delete link' }).click()
    await page.locator('h1', { hasText: 'Your links' }).waitFor()
    expect((await api(user.secret, 'GET', `/api/v1/links/${link.key}`)).status).toBe(404)
    await context.close()
    expect(problems).toEqual([])
  })

  it('charts a link\'s clicks over time and its top countries, referrers, devices, browsers, OS and campaigns, with bots apart', async () => {
    const link = await newLink(user.secret, { url: 'https://example.com/charted' })
    const desktop = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    const phone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
    const clicks = [
      ...Array.from({ length: 3 }, () => ({ ua: desktop, referer: 'https://news.example.org/story', query: '?utm_campaign=launch' })),
      ...Array.from({ length: 2 }, () => ({ ua: phone, referer: '', query: '' })),
      { ua: bot, referer: '', query: '' }
    ]
    for (const c of clicks) {
      const headers: Record<string, string> = { host: 'sw.test', 'user-agent': c.ua, ...(c.referer === '' ? {} : { referer: c.referer }) }
      expect((await send(`${edge.url}/${link.key}${c.query}`, { headers })).status).toBe(302)
    }
    await waitFor('the clicks to be folded by dimension', async () => {
      const stats = await api<{ clicks: number, botClicks: number }>(user.secret, 'GET', `/api/v1/links/${link.key}/stats?by=device`)
      return stats.body.clicks === 5 && stats.body.botClicks === 1
    }, 20_000)
    const { context, page } = await signedIn(user.secret)
    await page.goto(`${SITE}/#/link/${link.key}/stats?domain=${link.domain}`)
    await page.locator('#totals').waitFor()
    expect(await page.locator('#totals dd').allTextContents()).toEqual(['5', expect.stringMatching(/^[12]$/), '1'])
    // The line chart is drawn (uPlot's canvas), and its numbers are in a table too.
    await page.locator('.chart canvas').waitFor()
    const today = new Date().toISOString().slice(0, 10)
    expect(await page.locator('.per-day tbody tr').allTextContents()).toEqual([expect.stringMatching(new RegExp(`^${today}51[12]$`))])
    const bars = async (id: string) => (await page.locator(`#bars-${id} ~ table tbody tr`).allTextContents()).map((t) => t.replace(/\s+/g, ' '))
    await page.locator('#bars-device ~ table').waitFor()
    expect(await bars('referrer')).toEqual(expect.arrayContaining([expect.stringMatching(/^news\.example\.org.*3$/)]))
    expect(await bars('device')).toEqual(expect.arrayContaining([expect.stringMatching(/^desktop\s?3$/), expect.stringMatching(/^mobile\s?2$/)]))
    expect(await bars('utm_campaign')).toEqual(expect.arrayContaining([expect.stringMatching(/^launch\s?3$/)]))
    expect((await bars('browser')).length).toBeGreaterThanOrEqual(2)
    expect((await bars('os')).length).toBeGreaterThanOrEqual(2)
    expect((await bars('country')).length).toBeGreaterThanOrEqual(1)
    // A date range before the clicks shows none.
    await page.locator('#s-from').fill('2026-01-01')
    await page.locator('#s-to').fill('2026-01-31')
    await page.getByRole('button', { name: 'Show' }).click()
    await expect.poll(() => page.locator('#totals dd').first().textContent()).toBe('0')
    expect(page.url()).toContain('from=2026-01-01')
    // All links together (the owner's rollups follow the link's within a fold or two).
    await waitFor('the owner\'s rollup', async () => ((await api<{ clicks: number }>(user.secret, 'GET', '/api/v1/stats')).body.clicks >= 5), 20_000)
    await page.goto(`${SITE}/#/stats`)
    await page.locator('h1', { hasText: 'all your links' }).waitFor()
    await expect.poll(async () => Number((await page.locator('#totals dd').first().textContent())?.replace(/,/g, ''))).toBeGreaterThanOrEqual(5)
    await context.close()
    expect(problems).toEqual([])
  })

  it('imports a file with live progress and its refused rows as a report, and exports links', async () => {
    const secret = (await createApiKeyRepository(infra.cassandra).create('dash-import', 'user')).secret
    const rows = Array.from({ length: 40 }, (_, i) => i % 10 === 3 ? `ftp://bad.example/${i},Bad ${i}` : `https://example.com/imported/${i},Imported ${i}`)
    const { context, page } = await signedIn(secret)
    await page.goto(`${SITE}/#/import`)
    await page.locator('#im-file').setInputFiles({ name: 'links.csv', mimeType: 'text/csv', buffer: Buffer.from(`url,title\n${rows.join('\n')}\n`) })
    await page.getByRole('button', { name: 'Import' }).click()
    await page.locator('#import-counts', { hasText: '40 of 40 rows' }).waitFor({ timeout: 30_000 })
    expect(await text(page, '#import-counts')).toBe('40 of 40 rows: 36 created, 0 skipped, 4 refused.')
    expect(await page.locator('#im-progress').getAttribute('value')).toBe('40')
    await page.locator('#import-errors tbody tr').nth(3).waitFor()
    expect(await page.locator('#import-errors tbody tr td:first-child').allTextContents()).toEqual(['5', '15', '25', '35'])
    const [report] = await Promise.all([page.waitForEvent('download'), page.locator('#import-report').click()])
    const csv = await readFile((await report.path())!, 'utf8')
    expect(csv.split('\r\n')[0]).toBe('line,field,code,message')
    expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(5)
    await shot(page, 'dashboard-import')

    const [exported] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()])
    expect(exported.suggestedFilename()).toMatch(/^shortwave-links-\d{4}-\d{2}-\d{2}\.csv$/)
    const lines = (await readFile((await exported.path())!, 'utf8')).trim().split(/\r?\n/)
    expect(lines).toHaveLength(37)
    expect(lines.join('\n')).toContain('https://example.com/imported/39')
    await context.close()
    expect(problems).toEqual([])
  })

  it('registers a webhook (its secret shown once), shows its deliveries, pauses and removes it', async () => {
    const { context, page } = await signedIn(user.secret)
    await page.goto(`${SITE}/#/webhooks`)
    await page.locator('#wh-url').fill(receiver.url('/dashboard-hook'))
    await page.getByRole('button', { name: 'Add endpoint' }).click()
    await page.locator('#wh-secret').waitFor()
    expect(await text(page, '#wh-secret')).toMatch(/^whsec_/)
    await page.locator('#webhooks li').first().waitFor()
    // An event for it: a new link of this key.
    await newLink(user.secret, { url: 'https://example.com/hooked' })
    await waitFor('the delivery', async () => receiver.at('/dashboard-hook').length > 0, 20_000)
    await page.getByRole('button', { name: 'Deliveries' }).click()
    await page.locator('.deliveries tbody tr').first().waitFor()
    expect(await text(page, '.deliveries tbody tr')).toMatch(/link\.created.*delivered.*200/)
    await shot(page, 'dashboard-webhooks')
    await page.getByRole('button', { name: 'Pause' }).click()
    await page.locator('#webhooks .badge', { hasText: 'paused' }).waitFor()
    await page.getByRole('button', { name: 'Remove…' }).click()
    await page.getByRole('button', { name: 'Remove endpoint' }).click()
    await page.locator('#webhooks li').first().waitFor({ state: 'detached' })
    expect((await api<{ webhooks: unknown[] }>(user.secret, 'GET', '/api/v1/webhooks')).body.webhooks).toEqual([])
    await context.close()
    expect(problems).toEqual([])
  })

  it('lets an admin create and revoke API keys and register and remove domains; a user sees neither control', async () => {
    const { context, page } = await signedIn(admin.secret)
    await page.goto(`${SITE}/#/keys`)
    await page.locator('#key-name').fill('from-the-dashboard')
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.locator('#key-secret').waitFor()
    const secret = await text(page, '#key-secret')
    expect(secret).toMatch(/^sw_[A-Za-z0-9_-]{43}$/)
    expect((await api<{ name: string }>(secret, 'GET', '/api/v1/me')).body.name).toBe('from-the-dashboard')
    // The secret is shown once: the list never has it.
    await page.reload()
    await page.locator('#keys tbody tr', { hasText: 'from-the-dashboard' }).waitFor()
    expect(await page.content()).not.toContain(secret)
    expect(await text(page, '#keys tbody tr:has-text("dash-admin")')).toContain('active (yours)')
    await page.getByRole('button', { name: 'Revoke from-the-dashboard' }).click()
    await page.getByRole('button', { name: 'Revoke key' }).click()
    await page.locator('#keys tbody tr', { hasText: 'from-the-dashboard' }).filter({ hasText: 'revoked' }).waitFor()
    await waitFor('the revocation to reach the replica', async () => (await api(secret, 'GET', '/api/v1/me')).status === 401)
    await shot(page, 'dashboard-keys')

    await page.goto(`${SITE}/#/domains`)
    await page.locator('#dom-host').fill('go.dashboard.test')
    await page.locator('#dom-root').fill('https://example.com/home')
    await page.getByRole('button', { name: 'Register domain' }).click()
    await page.locator('#domains tbody tr', { hasText: 'go.dashboard.test' }).waitFor()
    await page.getByRole('button', { name: 'Remove go.dashboard.test' }).click()
    await page.getByRole('button', { name: 'Remove domain' }).click()
    await page.locator('#domains tbody tr', { hasText: 'go.dashboard.test' }).waitFor({ state: 'detached' })
    await context.close()

    const asUser = await signedIn(user.secret)
    await asUser.page.goto(`${SITE}/#/domains`)
    await asUser.page.locator('#domains').waitFor()
    expect(await asUser.page.locator('#dom-host').count()).toBe(0)
    expect(await asUser.page.locator('nav a[href="#/keys"]').count()).toBe(0)
    await asUser.page.goto(`${SITE}/#/keys`)
    await asUser.page.locator('h1', { hasText: 'Nothing here' }).waitFor()
    await asUser.context.close()
    expect(problems).toEqual([])
  })

  it('renders hostile titles, tags and URLs as text: nothing they hold runs', async () => {
    const secret = (await createApiKeyRepository(infra.cassandra).create('dash-hostile', 'user')).secret
    const title = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    const url = 'https://example.com/"><svg/onload=window.__pwned=3>?q=<script>window.__pwned=4</script>'
    const hostile = await newLink(secret, { url, title, tags: ['x-onerror-alert'] })
    const { context, page } = await signedIn(secret)
    for (const view of ['#/links', `#/link/${hostile.key}?domain=${hostile.domain}`, `#/link/${hostile.key}/stats?domain=${hostile.domain}`]) {
      await page.goto(`${SITE}/${view}`)
      await page.locator('h1').first().waitFor()
      await page.locator('[role=status]', { hasText: 'Loading' }).waitFor({ state: 'detached' })
      expect(await page.evaluate('window.__pwned'), view).toBeUndefined()
    }
    await page.goto(`${SITE}/#/links`)
    await page.locator('#links').waitFor()
    // Shown as the very characters, with no element made of them.
    expect(await text(page, '#links .title')).toBe(title)
    // The API stores the URL percent-encoded; the page shows what it stored, as text.
    const stored = (await api<{ url: string }>(secret, 'GET', `/api/v1/links/${hostile.key}`)).body.url
    expect(await text(page, '#links .url')).toBe(stored)
    expect(await page.locator('#links img, #links script, #links svg').count()).toBe(0)
    await page.goto(`${SITE}/#/link/${hostile.key}?domain=${hostile.domain}`)
    await page.locator('#lf-title').waitFor()
    expect(await page.locator('#lf-title').inputValue()).toBe(title)
    expect(await page.locator('.link-summary script, .link-summary svg').count()).toBe(0)
    expect(await page.evaluate('window.__pwned')).toBeUndefined()
    await context.close()
    expect(problems).toEqual([])
  })

  it('passes axe on every view with no serious or critical violation, and is screenshot at 375 and 1280 px, light and dark', async () => {
    const link = await newLink(admin.secret, { url: 'https://example.com/shots', title: 'A link to look at', tags: ['screenshot'] })
    await send(`${edge.url}/${link.key}`, { headers: { host: 'sw.test', referer: 'https://news.example.org/' } })
    const views: Array<[string, string, string]> = [
      ['list', '#/links', '#links'],
      ['new', '#/new', '#lf-url'],
      ['detail', `#/link/${link.key}?domain=${link.domain}`, '#lf-url'],
      ['stats', `#/link/${link.key}/stats?domain=${link.domain}`, '#totals'],
      ['import', '#/import', '#im-file'],
      ['webhooks', '#/webhooks', '#wh-url'],
      ['keys', '#/keys', '#keys'],
      ['domains', '#/domains', '#domains']
    ]
    for (const width of [1280, 375]) {
      for (const dark of [false, true]) {
        const { context, page } = await signedIn(admin.secret, { width, dark })
        for (const [name, hash, ready] of views) {
          await page.goto(`${SITE}/${hash}`)
          await page.locator(ready).first().waitFor()
          await page.locator('[role=status]', { hasText: 'Loading' }).waitFor({ state: 'detached' })
          if (width === 1280) await axe(page, `${name}${dark ? ' dark' : ''}`)
          await shot(page, `dashboard-${name}-${width}-${dark ? 'dark' : 'light'}`)
          expect(await page.evaluate('document.documentElement.scrollWidth'), `${name} at ${width}`).toBeLessThanOrEqual(width)
        }
        await context.close()
      }
    }
    // The anonymous page, too.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = watch(await context.newPage())
    await page.goto(`${SITE}/`)
    await page.locator('#shorten').waitFor({ state: 'visible' })
    await axe(page, 'anonymous')
    expect(await page.evaluate(LOW_CONTRAST)).toEqual([])
    await shot(page, 'dashboard-anonymous-1280-light')
    await context.close()
    expect(problems).toEqual([])
  })

  it(`weighs under ${FIRST_LOAD_BUDGET / 1024} KB compressed on first load, and lists a 1,000-link account interactively within ${INTERACTIVE_BUDGET_MS} ms`, async () => {
    const secret = (await createApiKeyRepository(infra.cassandra).create('dash-thousand', 'user')).secret
    for (let batch = 0; batch < 10; batch++) {
      const links = Array.from({ length: 100 }, (_, i) => ({ url: `https://example.com/thousand/${batch * 100 + i}`, title: `Link ${batch * 100 + i}`, tags: [`batch${batch}`] }))
      const answer = await api<{ results: Array<{ status: number }> }>(secret, 'POST', '/api/v1/links/batch', { links })
      expect(answer.body.results.every((r) => r.status === 201)).toBe(true)
    }
    const runs: number[] = []
    let transferred = 0
    let files: Array<{ name: string, bytes: number }> = []
    for (let run = 0; run < 5; run++) {
      // A new context each time: an empty cache, as a first visit.
      const { context, page } = await signedIn(secret)
      await page.goto(`${SITE}/#/links`)
      await page.locator('#links tbody tr').nth(49).waitFor()
      await page.locator('#f-q').focus()
      const shown = await page.evaluate('performance.getEntriesByName("sw:links-shown")[0].startTime') as number
      runs.push(shown)
      if (run === 0) {
        // Everything the first view needed, as sent on the wire (headers and compressed bodies).
        const entries = await page.evaluate(`[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
          .map((e) => ({ name: new URL(e.name).pathname, bytes: e.transferSize }))`) as Array<{ name: string, bytes: number }>
        files = entries
        transferred = entries.reduce((sum, e) => sum + e.bytes, 0)
      }
      await context.close()
    }
    runs.sort((a, b) => a - b)
    const median = runs[Math.floor(runs.length / 2)]!
    figures['first load'] = { transferredBytes: transferred, files }
    figures['links shown, ms after navigation start (5 cold loads)'] = { runs, median }
    process.stdout.write(`dashboard: first load ${(transferred / 1024).toFixed(1)} KiB over ${files.length} requests; ` +
      `1,000-link list interactive in ${median.toFixed(0)} ms (median of ${runs.map((r) => r.toFixed(0)).join(', ')})\n`)
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['/', '/api/v1/me', '/api/v1/links']))
    expect(transferred).toBeGreaterThan(10_000)
    expect(transferred).toBeLessThanOrEqual(FIRST_LOAD_BUDGET)
    // Time is measured and recorded (README), not asserted: a busy two-core CI machine is no
    // place for a timer to fail a build. The bytes are asserted: they do not depend on load.
    figures['interactive budget, ms'] = INTERACTIVE_BUDGET_MS
    // The hashed files are cached for a year, the page is not.
    const script = files.find((f) => f.name.startsWith('/static/assets/') && f.name.endsWith('.js'))!
    const cached = await send(`${edge.url}${script.name}`, { headers: { host: 'sw.test', 'accept-encoding': 'gzip' } })
    expect(cached.headers['cache-control']).toBe('max-age=31536000')
    expect(cached.headers['content-encoding']).toBe('gzip')
    expect((await send(`${edge.url}/`, { headers: { host: 'sw.test' } })).headers['cache-control']).toBe('no-cache')
    expect(problems).toEqual([])
  })
})
