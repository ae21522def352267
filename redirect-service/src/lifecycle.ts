import type { RedirectStatus } from './cache-control.ts'

// What a link's own rules say about one redirect, decided at redirect time (design.md, "Lifecycle at
// redirect time"). Pure: the caller supplies the clock and, for capped links, the click's number.

export interface LinkRules {
  /** Epoch milliseconds before which the link does not redirect yet; null: at once. */
  validFrom: number | null
  disabled: boolean
  /** GETs that redirect to the target at most; null: no cap. */
  maxClicks: number | null
  /** Where a link that may not redirect to its target sends people instead; null: an error page. */
  fallbackUrl: string | null
  /** Whether the short URL's query string is merged into the target's. */
  forwardQuery: boolean
  /** This link's redirect status; null: the service's (REDIRECT_STATUS). */
  redirectStatus: RedirectStatus | null
}

export type Unavailable = 'expired' | 'exhausted' | 'disabled' | 'not-yet-valid'

export type Verdict =
  | { kind: 'target' }
  | { kind: 'fallback', reason: Unavailable, url: string }
  | { kind: 'unavailable', reason: Unavailable, status: 404 | 410 }

export interface Moment {
  now: number
  /** Epoch milliseconds, or null for a link that never expires. */
  expiresAt: number | null
  /**
   * For a capped link, the number this click has among the link's counted GETs (1 for the first);
   * for a HEAD, the number the next GET would get. Undefined when the link has no cap.
   */
  clickNumber?: number
}

export const NO_RULES: Readonly<LinkRules> = Object.freeze({
  validFrom: null, disabled: false, maxClicks: null, fallbackUrl: null, forwardQuery: false, redirectStatus: null
})

/** Whether any rule is set: a link with none takes the redirect path that checks nothing. */
export function hasRules (rules: LinkRules): boolean {
  return rules.validFrom !== null || rules.disabled || rules.maxClicks !== null || rules.fallbackUrl !== null ||
    rules.forwardQuery || rules.redirectStatus !== null
}

// Gone for good (410) before merely unavailable (404): an expired or used-up link says so even when
// it is also disabled, since enabling it again would not bring it back.
function unavailable (rules: LinkRules, at: Moment): Unavailable | null {
  if (at.expiresAt !== null && at.now >= at.expiresAt) return 'expired'
  if (rules.maxClicks !== null && at.clickNumber !== undefined && at.clickNumber > rules.maxClicks) return 'exhausted'
  if (rules.disabled) return 'disabled'
  if (rules.validFrom !== null && at.now < rules.validFrom) return 'not-yet-valid'
  return null
}

export function judge (rules: LinkRules, at: Moment): Verdict {
  const reason = unavailable(rules, at)
  if (reason === null) return { kind: 'target' }
  if (rules.fallbackUrl !== null) return { kind: 'fallback', reason, url: rules.fallbackUrl }
  return { kind: 'unavailable', reason, status: reason === 'expired' || reason === 'exhausted' ? 410 : 404 }
}
