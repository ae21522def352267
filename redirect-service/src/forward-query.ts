// forwardQuery: the short URL's query string merged into the target's, as Shlink does. Works on the
// raw strings, so the target's own bytes stay as stored (signed URLs) and nothing is re-encoded;
// only what the request adds is made ASCII, since a Location header must be (invariant 7).

// Node hands the request line over as latin1: one character per byte.
const NOT_ASCII = /[^\x21-\x7e]/g
const asciiOnly = (raw: string): string =>
  raw.replace(NOT_ASCII, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)

function nameOf (pair: string): string {
  const raw = pair.split('=', 1)[0]!.replaceAll('+', ' ')
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw // a malformed escape names itself
  }
}

/**
 * The target with the request's query merged in: the target's parameters first, minus those the
 * request sets again, then the request's, in its order; the target's fragment stays last.
 * `target` is an ASCII Location value; `query` the raw query string after "?", possibly empty.
 */
export function withForwardedQuery (target: string, query: string): string {
  const added = query.split('&').filter((pair) => pair !== '').map(asciiOnly)
  if (added.length === 0) return target
  const hashAt = target.indexOf('#')
  const fragment = hashAt === -1 ? '' : target.slice(hashAt)
  const beforeHash = hashAt === -1 ? target : target.slice(0, hashAt)
  const queryAt = beforeHash.indexOf('?')
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt)
  const own = queryAt === -1 ? [] : beforeHash.slice(queryAt + 1).split('&').filter((pair) => pair !== '')
  const replaced = new Set(added.map(nameOf))
  const kept = own.filter((pair) => !replaced.has(nameOf(pair)))
  return `${base}?${[...kept, ...added].join('&')}${fragment}`
}
