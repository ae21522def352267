// What deriving a click's dimensions costs on one core, in µs per click, over a realistic mix:
// a few dozen user agents that make most clicks, a tail of one-off ones (versions, in-app
// builds), referrers with 40 % direct, 30 % of short URLs with utm_*, public IPv4 and IPv6
// addresses. Cold: every user agent parsed (no cache). Warm: a cache that already holds the mix's
// common user agents, as a replica's does after its first minutes. And the bot check per click:
// the regular expression bot-detector.ts had before isbot, isbot alone, and isBot (isbot and the
// tools people use). And the visitor hash the plan proposes for unique visitors (HMAC-SHA256 of
// address and user agent under the day's salt, 8 bytes kept).
//   node load-tests/bench/click-dimensions.ts [clicks=200000]
import { createHmac, createSecretKey, hash, randomBytes } from 'node:crypto'
import { isbot } from 'isbot'
import { isBot } from '../../redirect-service/src/bot-detector.ts'
import { createClickDimensions, type SeenClick } from '../../redirect-service/src/analytics/click-dimensions.ts'
import { bundledCountryDatabase, openCountryLookup } from '../../redirect-service/src/analytics/country-lookup.ts'
import { referrerHost } from '../../redirect-service/src/analytics/referrer-host.ts'
import { createUserAgentParser, parseUserAgent } from '../../redirect-service/src/analytics/user-agent-dimensions.ts'
import { utmValues } from '../../redirect-service/src/analytics/utm.ts'

// The detector isbot replaced (git show f412e4c:redirect-service/src/bot-detector.ts).
const OLD_DECLARED = /bot\b|crawler|spider|preview|slurp|facebookexternalhit|facebookcatalog|whatsapp|embedly|iframely|vkshare|mastodon|bluesky/i
const OLD_NOT_BOTS = /\bcubot\b/i
function oldIsBot (ua: string | undefined): boolean {
  if (ua === undefined || ua === '') return false
  return OLD_DECLARED.test(ua) && !OLD_NOT_BOTS.test(ua)
}

const CLICKS = Number(process.argv[2] ?? 200_000)
const ROUNDS = 5

// A fixed seed, so that every run measures the same clicks.
let seed = 0x9e3779b9
function random (): number {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
  return (seed >>> 0) / 0x1_0000_0000
}
function pick<T> (weighted: ReadonlyArray<readonly [T, number]>): T {
  const total = weighted.reduce((sum, [, w]) => sum + w, 0)
  let r = random() * total
  for (const [value, w] of weighted) if ((r -= w) < 0) return value
  return weighted[weighted.length - 1]![0]
}

const COMMON_UAS: ReadonlyArray<readonly [string, number]> = [
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1', 20],
  ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 20],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 15],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15', 6],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86', 5],
  ['Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36', 4],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 3],
  ['Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1', 3],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 3],
  ['Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 2],
  ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 2],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 1],
  ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 2],
  ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 2],
  ['Twitterbot/1.0', 1],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 1],
  ['WhatsApp/2.23.20.0 A', 1],
  ['curl/8.5.0', 1]
]
// One-off user agents: in-app browsers carry build numbers, so a tail of distinct strings.
function tailUa (): string {
  const build = Math.floor(random() * 1_000_000)
  return random() < 0.5
    ? `Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.${build};FBDV/iPhone15,2;FBSN/iOS;FBSV/17.5]`
    : `Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.${build}; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 Instagram 345.0.0.${build % 100}.95`
}
const REFERERS: ReadonlyArray<readonly [string | undefined, number]> = [
  [undefined, 40], ['https://www.google.com/', 15], ['https://t.co/', 8], ['https://www.facebook.com/', 8], ['https://l.instagram.com/', 5],
  ['https://www.linkedin.com/feed/', 5], ['https://news.ycombinator.com/item?id=42', 3], ['https://mail.google.com/mail/u/0/', 3],
  ['https://www.reddit.com/r/programming/comments/abc/some_title/', 5], ['https://duckduckgo.com/', 3], ['android-app://com.google.android.gm/', 5]
]
const QUERIES: ReadonlyArray<readonly [string, number]> = [
  ['', 70], ['utm_source=newsletter&utm_medium=email&utm_campaign=december', 10], ['utm_source=twitter&utm_medium=social', 10],
  ['utm_source=Facebook&utm_medium=cpc&utm_campaign=Winter%20Sale%202026&fbclid=IwAR0abc', 10]
]
function address (): string {
  const octet = () => Math.floor(random() * 256)
  return random() < 0.7
    ? `${1 + Math.floor(random() * 222)}.${octet()}.${octet()}.${octet()}`
    : `2a0${Math.floor(random() * 10)}:${octet().toString(16)}${octet().toString(16)}::${octet().toString(16)}`
}

const clicks: SeenClick[] = Array.from({ length: CLICKS }, () => ({
  referer: pick(REFERERS),
  userAgent: random() < 0.05 ? tailUa() : pick(COMMON_UAS),
  address: address(),
  query: pick(QUERIES)
}))
const userAgents = clicks.map((click) => click.userAgent)

let sink = 0
/** The median over ROUNDS of µs per item of fn over items. */
function measure<T> (items: readonly T[], fn: (item: T) => unknown, before?: () => void): number {
  const times: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    before?.()
    const start = process.hrtime.bigint()
    for (const item of items) if (fn(item)) sink++
    times.push(Number(process.hrtime.bigint() - start) / 1000 / items.length)
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!
}

const countries = await openCountryLookup(bundledCountryDatabase())
const rows: Array<[string, number]> = []

// Cold: a cache of one entry misses (nearly) every time, so every click pays a bowser parse.
let cold = createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 1 }) })
rows.push(['derive, cold UA cache (every UA parsed)', measure(clicks, (c) => cold(c), () => {
  cold = createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 1 }) })
})])
// Warm: the default-sized cache after one pass over the mix; the tail still misses.
const warmParser = createUserAgentParser({ cacheSize: 5000 })
const warm = createClickDimensions({ countries, userAgents: warmParser })
for (const click of clicks) warm(click)
const missesBefore = warmParser.misses
rows.push(['derive, warm UA cache (5,000 entries)', measure(clicks, (c) => warm(c))])
const warmMissRate = (warmParser.misses - missesBefore) / (clicks.length * ROUNDS)

rows.push(['  user agent, bowser parse uncached', measure(userAgents, (ua) => ua !== undefined && parseUserAgent(ua))])
rows.push(['  user agent, from the warm cache', measure(userAgents, (ua) => warmParser.parse(ua))])
rows.push(['  country (mmdb lookup)', measure(clicks, (c) => countries.country(c.address))])
rows.push(['  referrer host', measure(clicks, (c) => referrerHost(c.referer))])
rows.push(['  utm_* values', measure(clicks, (c) => utmValues(c.query))])
const salt = randomBytes(32)
const saltKey = createSecretKey(salt)
const saltHex = salt.toString('hex')
rows.push(['visitor hash, createHmac per click', measure(clicks, (c) =>
  createHmac('sha256', saltKey).update(`${c.address ?? ''}\n${c.userAgent ?? ''}`).digest().toString('hex', 0, 8))])
// One-shot crypto.hash of salt and click: no Hmac object per click. A keyed prefix hash is enough
// here (nothing is authenticated; the salt only has to be unguessable and short-lived).
rows.push(['visitor hash, crypto.hash(sha256) of salt+click', measure(clicks, (c) =>
  hash('sha256', `${saltHex}\n${c.address ?? ''}\n${c.userAgent ?? ''}`, 'hex').slice(0, 16))])
rows.push(['bot check, old regular expression', measure(userAgents, oldIsBot)])
rows.push(['bot check, isbot alone', measure(userAgents, (ua) => isbot(ua))])
rows.push(['bot check, isBot (isbot + tools people use)', measure(userAgents, isBot)])
countries.close()

const agree = userAgents.filter((ua) => oldIsBot(ua) === isBot(ua)).length
console.log(`${CLICKS} clicks (${new Set(userAgents).size} distinct user agents), median of ${ROUNDS} rounds, Node ${process.version}`)
for (const [what, us] of rows) console.log(`${what.padEnd(48)} ${us.toFixed(2).padStart(7)} µs/click`)
console.log(`warm cache misses: ${(warmMissRate * 100).toFixed(1)} % of clicks; old and new bot checks agree on ${(agree / CLICKS * 100).toFixed(2)} % of clicks`)
if (sink < 0) console.log(sink)
