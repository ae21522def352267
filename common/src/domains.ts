import { isIP } from 'node:net'
import { bucketOf, canBeKey } from './keys.ts'

// A domain is the host a link is served on (design.md, "Domains"). The default domain is stored
// as '' everywhere, so the rows and Redis names of links made before domains existed already are
// the default domain's, and renaming the default host (PUBLIC_BASE_URL) needs no data change.

export const DEFAULT_DOMAIN = ''

/** Longest host name DNS allows (RFC 1035: 255 octets on the wire, 253 characters as text). */
export const HOST_MAX = 253
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/**
 * The name of a link wherever a name is not a Cassandra primary key (the Redis cache, click counters
 * and tables, the click cap, idempotency, the edit history, invalidation messages): the key itself
 * on the default domain, so those names are exactly what they were before domains existed, and
 * `host/key` on any other ("/" never occurs in a key or a host).
 */
export function scopedKey (domain: string, key: string): string {
  return domain === DEFAULT_DOMAIN ? key : `${domain}/${key}`
}

/** The inverse of scopedKey. */
export function parseScopedKey (scoped: string): { domain: string, key: string } {
  const slash = scoped.indexOf('/')
  if (slash === -1) return { domain: DEFAULT_DOMAIN, key: scoped }
  return { domain: scoped.slice(0, slash), key: scoped.slice(slash + 1) }
}

/** True for what scopedKey can return: a key, or a normalised host, "/" and a key. */
export function isScopedKey (candidate: string): boolean {
  const { domain, key } = parseScopedKey(candidate)
  if (!canBeKey(key)) return false
  return candidate.includes('/') ? domain !== DEFAULT_DOMAIN && normalizeHost(domain) === domain : true
}

/**
 * The partition of a link in the links table: the default domain keeps bucketOf(key) (where the
 * pooled keys live), any other domain has its own partitions, `host/bucket`.
 */
export function linkBucket (domain: string, key: string): string {
  return domain === DEFAULT_DOMAIN ? bucketOf(key) : `${domain}/${bucketOf(key)}`
}

export interface HostOptions {
  /** Accept an IPv4 or bracketed IPv6 literal (the default domain's local names, e.g. 127.0.0.1). */
  allowIp?: boolean
}

/**
 * A host as Shortwave stores and compares it: lower case, punycode (WHATWG URL's IDNA), no trailing
 * dot; null when the text is not a host name alone (a port, a path, credentials, spaces, an empty
 * label, a label over 63 characters, an IP literal unless allowed). IP literals are refused for
 * registered domains: an address is no brand, has no certificate in practice, and 127.0.0.1 must
 * stay the default domain's local name (DEFAULT_DOMAIN_HOSTS).
 */
export function normalizeHost (text: string, opts: HostOptions = {}): string | null {
  if (text.length === 0 || text.length > HOST_MAX + 1) return null
  const bracketed = text.startsWith('[') && text.endsWith(']')
  // Anything WHATWG would read as something other than the host: userinfo, port, path, query, fragment.
  if (/[\s/?#@\\%]/.test(text) || (!bracketed && text.includes(':'))) return null
  let host: string
  try {
    host = new URL(`http://${text}/`).hostname
  } catch {
    return null
  }
  if (host.endsWith('.')) host = host.slice(0, -1)
  const literal = host.startsWith('[') || isIP(host) !== 0
  if (literal) return opts.allowIp === true ? host : null
  if (host.length === 0 || host.length > HOST_MAX) return null
  return host.split('.').every((label) => LABEL.test(label)) ? host : null
}

/**
 * The host of a request's Host header as normalizeHost would give it, or null: a port is dropped,
 * as it says nothing about the domain (nginx listens where it is told to).
 */
export function hostOfHeader (header: string | undefined): string | null {
  if (header === undefined) return null
  const port = /:[0-9]{1,5}$/.exec(header)
  const name = port === null || (header.startsWith('[') && !header.slice(0, port.index).endsWith(']'))
    ? header
    : header.slice(0, port.index)
  return normalizeHost(name, { allowIp: true })
}
