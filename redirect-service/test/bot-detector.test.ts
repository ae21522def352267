import { describe, expect, it } from 'vitest'
import { isBot } from '../src/bot-detector.ts'

describe('isBot', () => {
  it.each([
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'Twitterbot/1.0',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)',
    'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
    'TelegramBot (like TwitterBot)',
    'WhatsApp/2.23.20.0 A',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (compatible; YandexSpider/3.0)',
    'Mozilla/5.0 (compatible; SemrushCrawler)',
    'Google Web Preview',
    // Known to isbot's list, not to the regular expression it replaced.
    'Mastodon/4.2.0 (http.rb/5.1.1; +https://mastodon.social/) Bot',
    'Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)',
    'Iframely/1.3.1 (+https://iframely.com/docs/about)',
    'Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)'
  ])('counts %s as a bot', (ua) => {
    expect(isBot(ua)).toBe(true)
  })

  it.each([
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
    'curl/8.5.0',
    'Wget/1.21.4',
    'python-requests/2.32.0',
    // Tools people use, which isbot counts as bots: Node's fetch (the stack tests), Fastify's
    // inject (the services' tests), k6 (the load tests).
    'node',
    'lightMyRequest',
    'undici',
    'k6/0.52.0 (https://k6.io/)',
    // k6 v1 and v2 name their maker first.
    'Grafana k6/2.2.0 (https://k6.io/)',
    'Go-http-client/1.1',
    'HTTPie/3.2.2',
    'axios/1.7.2',
    'PostmanRuntime/7.39.0',
    ''
  ])('counts %s as a person', (ua) => {
    expect(isBot(ua)).toBe(false)
  })

  it('counts a request without a User-Agent as a person', () => {
    expect(isBot(undefined)).toBe(false)
  })
})
