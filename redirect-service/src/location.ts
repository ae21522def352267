// A Location header is ASCII (design.md invariant 7). Node writes header values as latin1, and
// clients disagree on what to make of bytes above 127 (fetch reads them as latin1, browsers guess),
// so a stored Unicode URL is sent as its WHATWG serialisation: the parse create-service checked it
// with and browsers follow it with, written with a punycode host and percent-encoded UTF-8 in the
// path, query and fragment (percent-escapes already there are kept). An ASCII URL goes out exactly
// as stored, never re-serialised: its bytes may matter (signed URLs, servers that tell %27 from ').

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/

export class UnsafeLocationError extends Error {
  override name = 'UnsafeLocationError'
}

/** The Location header value for a stored URL: the URL itself when ASCII, else its WHATWG serialisation. */
export function toLocationHeader (url: string): string {
  if (PRINTABLE_ASCII.test(url)) return url
  // create-service never stores control characters; one here means a bug or a tampered row. The
  // parser would drop CR/LF silently, but the row is not what was checked, so it is not followed.
  if (CONTROL.test(url)) throw new UnsafeLocationError('the stored URL contains control characters')
  try {
    return new URL(url).href
  } catch (cause) {
    throw new UnsafeLocationError('the stored URL is not an absolute URL', { cause })
  }
}
