// Node writes header values as latin1: one byte per UTF-16 code unit, below 256. The stored URL
// is Unicode text, so a non-ASCII URL is handed over as its UTF-8 bytes spelled as latin1
// characters; the client then receives exactly the bytes that were stored.

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/

export class UnsafeLocationError extends Error {
  override name = 'UnsafeLocationError'
}

/** The Location header value carrying the stored URL's exact UTF-8 bytes. */
export function toLocationHeader (url: string): string {
  if (PRINTABLE_ASCII.test(url)) return url
  // create-service never stores control characters; one here means a bug or a tampered row,
  // and CR/LF in a header could split the response.
  if (CONTROL.test(url)) throw new UnsafeLocationError('the stored URL contains control characters')
  return Buffer.from(url, 'utf8').toString('latin1')
}
