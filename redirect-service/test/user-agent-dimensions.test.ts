import { describe, expect, it } from 'vitest'
import { DEVICES, OTHER, UNKNOWN, USER_AGENT_MAX, createUserAgentParser, parseUserAgent } from '../src/analytics/user-agent-dimensions.ts'

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

describe('parseUserAgent', () => {
  it.each([
    [CHROME_WINDOWS, 'desktop', 'chrome', 'windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86', 'desktop', 'edge', 'windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'desktop', 'firefox', 'linux'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15', 'desktop', 'safari', 'macos'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', 'desktop', 'opera', 'macos'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'desktop', 'chrome', 'chrome_os'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1', 'mobile', 'safari', 'ios'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', 'mobile', 'chrome', 'ios'],
    ['Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1', 'tablet', 'safari', 'ios'],
    ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'mobile', 'chrome', 'android'],
    ['Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36', 'mobile', 'samsung_internet', 'android'],
    ['Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'tablet', 'chrome', 'android'],
    ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 'mobile', 'firefox', 'android'],
    ['Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36', 'tv', 'tizen', 'tizen'],
    ['Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36', 'mobile', 'chrome', 'android'],
    // In-app browsers read as the engine they run on.
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.35.109;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5]', 'mobile', 'safari', 'ios'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 Instagram 345.0.0.48.95', 'mobile', 'chrome', 'android'],
    // Bots: isBot decides the device, bowser names the ones it knows.
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'bot', 'googlebot', OTHER],
    ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'bot', 'bingcrawler', OTHER],
    ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'bot', 'slackbot', OTHER],
    ['facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)', 'bot', 'facebookexternalhit', OTHER],
    ['Twitterbot/1.0', 'bot', OTHER, OTHER],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'bot', 'chrome', 'windows'],
    // Tools people use (bot-detector.ts).
    ['curl/8.5.0', 'other', OTHER, OTHER]
  ])('reads %s', (ua, device, browser, os) => {
    expect(parseUserAgent(ua)).toEqual({ device, browser, os })
  })

  it('keeps only names from bowser\'s own lists, not any "Name/1.0" it reads', () => {
    expect(parseUserAgent('FooBar/1.0 (x) Baz')).toEqual({ device: 'other', browser: OTHER, os: OTHER })
    expect(parseUserAgent(`${'A'.repeat(80)}/1.0 (Windows NT 10.0)`).browser).toBe(OTHER)
  })

  it('answers bounded values for hostile headers', () => {
    const hostile = [
      '\u0000\u0001\u00ff\u00fe',
      'Mozilla/5.0 (\r\nX-Injected: 1) Chrome/1',
      `Mozilla/5.0 ${'('.repeat(20_000)}`,
      `${CHROME_WINDOWS} ${'x'.repeat(100_000)}`,
      '\ud800Mozilla\udfff'
    ]
    for (const ua of hostile) {
      const { device, browser, os } = parseUserAgent(ua.slice(0, USER_AGENT_MAX))
      expect(DEVICES).toContain(device)
      expect(browser).toMatch(/^[a-z0-9_]{1,32}$/)
      expect(os).toMatch(/^[a-z0-9_]{1,32}$/)
    }
  })
})

describe('createUserAgentParser', () => {
  it('answers unknown without a User-Agent', () => {
    const parser = createUserAgentParser({ cacheSize: 10 })
    expect(parser.parse(undefined)).toEqual({ device: 'other', browser: UNKNOWN, os: UNKNOWN })
    expect(parser.parse('')).toEqual({ device: 'other', browser: UNKNOWN, os: UNKNOWN })
    expect(parser.misses).toBe(0)
  })

  it('parses each user agent once while it stays in the cache, and holds at most cacheSize', () => {
    const parser = createUserAgentParser({ cacheSize: 2 })
    for (let i = 0; i < 5; i++) parser.parse(CHROME_WINDOWS)
    expect(parser.misses).toBe(1)
    parser.parse('Twitterbot/1.0')
    parser.parse('curl/8.5.0')
    expect(parser.size).toBe(2)
    // Chrome was the least recently used: parsed again.
    expect(parser.parse(CHROME_WINDOWS)).toEqual({ device: 'desktop', browser: 'chrome', os: 'windows' })
    expect(parser.misses).toBe(4)
  })

  it('keys the cache by the first USER_AGENT_MAX characters, so a huge header costs no more memory', () => {
    const parser = createUserAgentParser({ cacheSize: 10 })
    const a = parser.parse(`${CHROME_WINDOWS}${' '.repeat(USER_AGENT_MAX)}a`)
    const b = parser.parse(`${CHROME_WINDOWS}${' '.repeat(USER_AGENT_MAX)}${'b'.repeat(100_000)}`)
    expect(a).toEqual({ device: 'desktop', browser: 'chrome', os: 'windows' })
    expect(b).toBe(a)
    expect(parser.misses).toBe(1)
  })
})
