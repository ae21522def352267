// A link's ETag is its version: every change of what an owner can edit goes through the edit's
// lightweight transaction, which counts it (LinkRepository.applyEdit), so equal versions of one
// key mean equal links. Strong, as If-Match compares only strong validators (RFC 9110 13.1.1).

export function etagOf (link: { version: number }): string {
  return `"v${link.version}"`
}

/** Whether an If-Match header value lets a request go on against a link whose ETag is `etag`. */
export function ifMatchAllows (header: string | undefined, etag: string): boolean {
  if (header === undefined) return true
  const value = header.trim()
  if (value === '*') return true
  // Weak tags (W/"…") never match under the strong comparison If-Match asks for.
  return value.split(',').some((tag) => tag.trim() === etag)
}
