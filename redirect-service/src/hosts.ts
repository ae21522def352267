import type { Domain } from '@shortwave/common/domain-registry'
import { DEFAULT_DOMAIN, hostOfHeader } from '@shortwave/common/domains'
import { toLocationHeader } from './location.ts'

// Which domain a request is for, from its Host header: the default domain's names (configuration,
// DEFAULT_DOMAIN_HOSTS) and the registered domains (the registry in memory, domain-directory.ts).
// A redirect pays one Map lookup for it: answers are remembered by the raw header, so the port,
// case and trailing dot are worked out once per spelling, not per request.

/** A domain as a redirect needs it: its stored name and its two redirects as Location values. */
export interface ServedDomain {
  /** '' for the default domain. */
  domain: string
  rootLocation: string | null
  notFoundLocation: string | null
}

/** Header spellings remembered at most: Host is the client's to choose, so the memo must not grow without end. */
const MEMO_MAX = 1024

/** A stored redirect as a Location value; one that cannot be sent safely is left out (404 instead). */
function locationOf (url: string | null): string | null {
  if (url === null) return null
  try {
    return toLocationHeader(url)
  } catch {
    return null
  }
}

export function createHostTable (defaultHosts: readonly string[]) {
  const defaultDomain: ServedDomain = { domain: DEFAULT_DOMAIN, rootLocation: null, notFoundLocation: null }
  let byHost = new Map<string, ServedDomain>(defaultHosts.map((h) => [h, defaultDomain]))
  let memo = new Map<string, ServedDomain | null>()

  return {
    /** The domain the Host header names, or null for a host served by no domain. */
    lookup (header: string | undefined): ServedDomain | null {
      if (header === undefined) return null
      const known = memo.get(header)
      if (known !== undefined) return known
      const host = hostOfHeader(header)
      const served = host === null ? null : byHost.get(host) ?? null
      if (memo.size < MEMO_MAX) memo.set(header, served)
      return served
    },

    /** Header spellings remembered (tests, diagnostics). */
    get remembered (): number {
      return memo.size
    },

    /** Takes a new registry; the default domain's names win over a registered host of the same name. */
    update (domains: ReadonlyMap<string, Domain>): void {
      const next = new Map<string, ServedDomain>()
      for (const d of domains.values()) {
        next.set(d.host, {
          domain: d.host,
          rootLocation: locationOf(d.rootRedirect),
          notFoundLocation: locationOf(d.notFoundRedirect)
        })
      }
      for (const h of defaultHosts) next.set(h, defaultDomain)
      byHost = next
      memo = new Map()
    }
  }
}
export type HostTable = ReturnType<typeof createHostTable>
