import type { RedirectStatus } from '@shortwave/common/link-rules'

export type { RedirectStatus }

// Browsers come back for temporary redirects every time, so each click is counted and a delete
// takes effect at once. Permanent ones may be cached, but never past the link's expiry.
const TEMPORARY = 'private, max-age=0'

/** Builds the Cache-Control value for a redirect, precomputed except for links that expire soon. */
export function cacheControlFor (status: RedirectStatus, permanentMaxAgeSeconds: number) {
  if (status === 302 || status === 307) return (): string => TEMPORARY
  const full = `public, max-age=${permanentMaxAgeSeconds}`
  return (expiresAt: number | null, now = Date.now()): string => {
    if (expiresAt === null) return full
    const secondsLeft = Math.floor((expiresAt - now) / 1000)
    return secondsLeft >= permanentMaxAgeSeconds ? full : `public, max-age=${Math.max(0, secondsLeft)}`
  }
}
