import type { LinkRules } from '@shortwave/common/link-rules'

// What a link's own rules say about one redirect, decided at redirect time (design.md, "Lifecycle at
// redirect time"). Pure: the caller supplies the clock and, for capped links, the click's number.
// The rules themselves are stored and cached with the link, so they live in common.

export { hasRules, NO_RULES, type LinkRules } from '@shortwave/common/link-rules'

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
