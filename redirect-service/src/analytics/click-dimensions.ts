import { CLICK_DIMENSIONS, type ClickDimension } from '@shortwave/common/stats-dimensions'
import type { CountryLookup } from './country-lookup.ts'
import { referrerHost } from './referrer-host.ts'
import type { Device, UserAgentParser } from './user-agent-dimensions.ts'
import { utmValues } from './utm.ts'

/** The dimensions of a click, named as the stats API's `by` values. */
export const DIMENSIONS = CLICK_DIMENSIONS
export type Dimension = ClickDimension

/** What a redirect saw of a click, as it saw it: nothing of it is stored. */
export interface SeenClick {
  /** The Referer header. */
  referer: string | undefined
  /** The User-Agent header. */
  userAgent: string | undefined
  /** The client's address as nginx gave it (Fastify's request.ip with trustProxy set to nginx alone). */
  address: string | undefined
  /** The short URL's query string, without "?" ('' when none). */
  query: string
}

export type ClickDimensions = Record<Dimension, string> & { device: Device }

export interface ClickDimensionsDeps {
  countries: Pick<CountryLookup, 'country'>
  userAgents: Pick<UserAgentParser, 'parse'>
}

/**
 * Turns what a redirect saw into a bounded, normalised value per dimension (referrer-host.ts,
 * country-lookup.ts, user-agent-dimensions.ts, utm.ts say what each holds). Pure apart from the
 * user-agent cache; never throws, whatever the headers hold.
 */
export function createClickDimensions (deps: ClickDimensionsDeps) {
  const { countries, userAgents } = deps
  return function clickDimensions (seen: SeenClick): ClickDimensions {
    const { device, browser, os } = userAgents.parse(seen.userAgent)
    return {
      referrer: referrerHost(seen.referer),
      country: countries.country(seen.address),
      device,
      browser,
      os,
      ...utmValues(seen.query)
    }
  }
}
export type ClickDimensionsOf = ReturnType<typeof createClickDimensions>
