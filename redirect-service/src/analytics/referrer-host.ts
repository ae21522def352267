import { normalizeHost } from '@shortwave/common/domains'

/** The referrer of a click that came with none, or with one that names no web host. */
export const DIRECT = 'direct'

// Browsers send at most 4096 characters of a Referer (Chrome cuts longer ones to the origin);
// anything longer is not a browser's, and is not parsed.
const REFERER_MAX = 4096

/**
 * The host a click came from: lower case, punycode, no trailing dot, no leading "www." (so
 * www.google.com and google.com are one row), at most 253 characters (normalizeHost); an IP
 * literal as WHATWG writes it. DIRECT when the header is absent, too long, not an http(s) URL,
 * or names no valid host: the value is always one a rollup can store and show.
 */
export function referrerHost (referer: string | undefined): string {
  if (referer === undefined || referer.length === 0 || referer.length > REFERER_MAX) return DIRECT
  let url: URL
  try {
    url = new URL(referer)
  } catch {
    return DIRECT
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return DIRECT
  const host = normalizeHost(url.hostname, { allowIp: true })
  if (host === null) return DIRECT
  // "www.com" stays itself: only a www. label in front of a registrable name goes.
  return host.startsWith('www.') && host.includes('.', 4) ? host.slice(4) : host
}
