// A real browser for the browser tests: Debian's chromium (scripts/ensure-tools.sh installs it),
// driven by playwright-core, which downloads no browser of its own.
import { chromium, type Browser } from 'playwright-core'
import { access, mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { ROOT } from '../nginx/edge.ts'

export const CHROMIUM = '/usr/bin/chromium'
/** Screenshots of every state, to look at (git-ignored). */
export const SCREENSHOTS = join(ROOT, 'reports', 'browser')

/**
 * Headless chromium resolving the given host names to loopback (`{ 'sw.test': '127.0.0.1:8123' }`):
 * the page can then use real-looking hosts that the services accept, without any DNS. The flags
 * stop chromium's own background traffic (updates, sync, field trials), which would otherwise
 * hammer a closed network.
 */
export async function launchChromium (hosts: Record<string, string>): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/ensure-tools.sh browser\` (npm test does)`)
  })
  await mkdir(SCREENSHOTS, { recursive: true })
  const rules = Object.entries(hosts).map(([host, address]) => `MAP ${host} ${address}`).join(', ')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--host-resolver-rules=${rules}`
    ]
  })
}

export interface Target {
  port: number
  /** Every request the site received: its path and query as sent, and its Host header. */
  received: Array<{ path: string, host: string | undefined }>
  close: () => Promise<void>
}

/** The site a short link leads to: any path answers a small HTML page naming it. */
export async function startTarget (): Promise<Target> {
  const received: Target['received'] = []
  const server: Server = createServer((req, res) => {
    received.push({ path: req.url ?? '', host: req.headers.host })
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><title>Target</title><h1>You have landed</h1><p id="path">${(req.url ?? '').replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/**
 * A page expression listing every visible text whose colour is under 4.5:1 against the background
 * it is drawn on (WCAG AA for body text), as "text: ratio". A string because it runs in the page.
 */
export const LOW_CONTRAST = `(() => {
  const rgba = (value) => (value.match(/[\\d.]+/g) || []).map(Number)
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 })
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
  }
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = rgba(getComputedStyle(el).backgroundColor)
      if (bg.length === 3 || bg[3] > 0) return bg
    }
    return [255, 255, 255]
  }
  const low = []
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
    if (!own || !el.checkVisibility()) continue
    const [a, b] = [luminance(rgba(getComputedStyle(el).color)), luminance(background(el))].sort((x, y) => y - x)
    const ratio = (a + 0.05) / (b + 0.05)
    if (ratio < 4.5) low.push(el.textContent.trim().slice(0, 40) + ': ' + ratio.toFixed(2))
  }
  return low
})()`
