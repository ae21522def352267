// The names the analytics share: the redirect derives them, the key-worker folds them, the stats
// API reads them. Each click dimension is a `by` value of GET …/stats.

export const CLICK_DIMENSIONS = ['referrer', 'country', 'device', 'browser', 'os', 'utm_source', 'utm_medium', 'utm_campaign'] as const
export type ClickDimension = typeof CLICK_DIMENSIONS[number]

/** Every click (people and bots) counts once under it, as `people` or `bot`: a scope's own totals. */
export const AUDIENCE = 'audience'
/** An owner's rollup also counts people's clicks per link (`by=link` of GET /api/v1/stats). */
export const LINK = 'link'
/** Where the values past a scope-day-dimension's cap are counted. */
export const OTHER = 'other'
/** A click counted without its dimensions (past the redirect's bound). */
export const UNKNOWN = 'unknown'

/**
 * The most distinct values a scope keeps per day and dimension before counting the rest as
 * `other`. Only dimensions whose values come from the client are capped: country, device,
 * browser and OS are bounded sets by construction.
 */
export const VALUE_CAPS: Readonly<Record<string, number>> = {
  referrer: 100,
  utm_source: 100,
  utm_medium: 100,
  utm_campaign: 100,
  [LINK]: 1000
}

export const FOLDED_DIMENSIONS: ReadonlySet<string> = new Set<string>([...CLICK_DIMENSIONS, AUDIENCE])
