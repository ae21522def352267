// What a link's owner may set on how it redirects (design.md, "Lifecycle at redirect time"):
// stored with the link by create-service, carried in its cache entry, judged by redirect-service.

export type RedirectStatus = 301 | 302 | 307 | 308
export const REDIRECT_STATUSES: readonly RedirectStatus[] = [301, 302, 307, 308]

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

export const NO_RULES: Readonly<LinkRules> = Object.freeze({
  validFrom: null, disabled: false, maxClicks: null, fallbackUrl: null, forwardQuery: false, redirectStatus: null
})

/** Whether any rule is set: a link with none takes the redirect path that checks nothing. */
export function hasRules (rules: LinkRules): boolean {
  return rules.validFrom !== null || rules.disabled || rules.maxClicks !== null || rules.fallbackUrl !== null ||
    rules.forwardQuery || rules.redirectStatus !== null
}

/** The rules as a link carries them (validFrom a Date, absent fields unset). */
export interface RuleFields {
  validFrom?: Date | null
  disabled?: boolean
  maxClicks?: number | null
  fallbackUrl?: string | null
  forwardQuery?: boolean
  redirectStatus?: RedirectStatus | null
}

export const RULE_FIELDS = [
  'validFrom', 'disabled', 'maxClicks', 'fallbackUrl', 'forwardQuery', 'redirectStatus'
] as const satisfies ReadonlyArray<keyof RuleFields>

export function rulesOf (link: RuleFields): LinkRules {
  return {
    validFrom: link.validFrom?.getTime() ?? null,
    disabled: link.disabled ?? false,
    maxClicks: link.maxClicks ?? null,
    fallbackUrl: link.fallbackUrl ?? null,
    forwardQuery: link.forwardQuery ?? false,
    redirectStatus: link.redirectStatus ?? null
  }
}

// In a cache entry, only the rules that are set, under one letter each: {f, d, m, b, q, s}.
export interface PackedRules {
  f?: number
  d?: 1
  m?: number
  b?: string
  q?: 1
  s?: RedirectStatus
}

export function packRules (rules: LinkRules): PackedRules {
  const packed: PackedRules = {}
  if (rules.validFrom !== null) packed.f = rules.validFrom
  if (rules.disabled) packed.d = 1
  if (rules.maxClicks !== null) packed.m = rules.maxClicks
  if (rules.fallbackUrl !== null) packed.b = rules.fallbackUrl
  if (rules.forwardQuery) packed.q = 1
  if (rules.redirectStatus !== null) packed.s = rules.redirectStatus
  return packed
}

export function unpackRules (packed: PackedRules): LinkRules {
  return {
    validFrom: packed.f ?? null,
    disabled: packed.d === 1,
    maxClicks: packed.m ?? null,
    fallbackUrl: packed.b ?? null,
    forwardQuery: packed.q === 1,
    redirectStatus: packed.s ?? null
  }
}
