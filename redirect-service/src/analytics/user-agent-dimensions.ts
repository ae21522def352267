import Bowser from 'bowser'
import { LRUCache } from 'lru-cache'
import { isBot } from '../bot-detector.ts'

/** What kind of device a click came from: bowser's platform types, bots (isBot), and `other`. */
export const DEVICES = ['desktop', 'mobile', 'tablet', 'tv', 'bot', 'other'] as const
export type Device = typeof DEVICES[number]

export interface UserAgentDimensions {
  device: Device
  /** A bowser browser id (`chrome`, `safari`, `samsung_internet`, `googlebot`…), or UNKNOWN or OTHER. */
  browser: string
  /** A bowser OS name in snake case (`windows`, `ios`, `macos`, `chrome_os`…), or UNKNOWN or OTHER. */
  os: string
}

/** A click without a User-Agent (or an empty one). */
export const UNKNOWN = 'unknown'
/** A User-Agent bowser reads nothing known from. */
export const OTHER = 'other'

// Real user agents are 100 to 400 characters. A longer header is cut before it is parsed and
// cached, so that an entry of the cache holds at most this much.
export const USER_AGENT_MAX = 512

// bowser names any "Name/1.0 …" it does not know after its first word, so its names are not a
// bounded set. Only the names of its own lists are kept.
const BROWSERS = new Map(Object.entries(Bowser.BROWSER_MAP).map(([id, name]) => [name, id]))
const SYSTEMS = new Map(Object.values(Bowser.OS_MAP).map((name) => [name, name.toLowerCase().replace(/[^a-z0-9]+/g, '_')]))
const PLATFORMS = new Set<string>(['desktop', 'mobile', 'tablet', 'tv'])

const NO_USER_AGENT: UserAgentDimensions = Object.freeze({ device: 'other', browser: UNKNOWN, os: UNKNOWN })

export interface UserAgentParserOptions {
  /** User agents whose dimensions are kept (a few thousand cover nearly all clicks). */
  cacheSize: number
}

/**
 * Device, browser family and OS family of a User-Agent, from a bounded LRU cache of parsed user
 * agents: most clicks come from a few hundred distinct user agents, and a bowser parse costs
 * tens of microseconds. Only bounded values come out, whatever the header holds.
 */
export function createUserAgentParser (opts: UserAgentParserOptions) {
  const cache = new LRUCache<string, UserAgentDimensions>({ max: opts.cacheSize })
  let misses = 0

  return {
    parse (userAgent: string | undefined): UserAgentDimensions {
      if (userAgent === undefined || userAgent.length === 0) return NO_USER_AGENT
      const ua = userAgent.length > USER_AGENT_MAX ? userAgent.slice(0, USER_AGENT_MAX) : userAgent
      let dimensions = cache.get(ua)
      if (dimensions === undefined) {
        misses++
        dimensions = parseUserAgent(ua)
        cache.set(ua, dimensions)
      }
      return dimensions
    },

    /** User agents parsed (not found in the cache) so far. */
    get misses (): number {
      return misses
    },

    get size (): number {
      return cache.size
    }
  }
}
export type UserAgentParser = ReturnType<typeof createUserAgentParser>

/** Parses one non-empty User-Agent, uncached. */
export function parseUserAgent (ua: string): UserAgentDimensions {
  const parser = Bowser.getParser(ua, true)
  const platform = parser.getPlatformType(true)
  const device: Device = isBot(ua) || platform === 'bot' ? 'bot' : PLATFORMS.has(platform) ? platform as Device : 'other'
  return Object.freeze({
    device,
    browser: BROWSERS.get(parser.getBrowserName()) ?? OTHER,
    os: SYSTEMS.get(parser.getOSName()) ?? OTHER
  })
}
