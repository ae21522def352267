// A rate as operators write it: "600/min", "10/s", "5000/h", "100000/day", or "unlimited".
// One spelling for the configuration, the apikey CLI and the api_keys table, parsed here only.

/** At most `quota` units per fixed window of `windowSeconds`; null means no limit. */
export type Rate = { quota: number, windowSeconds: number } | null

export const UNLIMITED = 'unlimited'

const WINDOWS = { s: 1, min: 60, h: 3600, day: 86_400 } as const
const QUOTA_MAX = 100_000_000

/** The pattern of a rate setting, for JSON schemas (config) and messages. */
export const RATE_PATTERN = `^(?:[1-9][0-9]{0,8}/(?:${Object.keys(WINDOWS).join('|')})|${UNLIMITED})$`
export const RATE_EXAMPLE = 'a count per s, min, h or day, e.g. 600/min, or unlimited'

/** Parses a rate; throws a RangeError saying what is expected. */
export function parseRate (text: string): Rate {
  const trimmed = text.trim()
  if (trimmed === UNLIMITED) return null
  const match = /^([1-9][0-9]{0,8})\/(s|min|h|day)$/.exec(trimmed)
  const quota = match ? Number(match[1]) : NaN
  if (!match || quota > QUOTA_MAX) throw new RangeError(`"${text}" is not a rate: expected ${RATE_EXAMPLE} (at most ${QUOTA_MAX} per window)`)
  return { quota, windowSeconds: WINDOWS[match[2] as keyof typeof WINDOWS] }
}

/** The canonical spelling, which parseRate reads back (a window of no named length: "N per 90 s"). */
export function formatRate (rate: Rate): string {
  if (rate === null) return UNLIMITED
  const unit = Object.entries(WINDOWS).find(([, seconds]) => seconds === rate.windowSeconds)
  return unit ? `${rate.quota}/${unit[0]}` : `${rate.quota} per ${rate.windowSeconds} s`
}

/** `count` per window of `windowMs` (the older RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_MS settings). */
export function rateOf (count: number, windowMs: number): Rate {
  return { quota: count, windowSeconds: Math.max(1, Math.ceil(windowMs / 1000)) }
}
