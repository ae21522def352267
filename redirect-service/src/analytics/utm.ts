/** A utm_* parameter the short URL did not carry (or carried empty). */
export const NONE = 'none'

/** The campaign parameters counted, in the order of the dimension names. */
export const UTM_PARAMETERS = ['utm_source', 'utm_medium', 'utm_campaign'] as const
export type UtmParameter = typeof UTM_PARAMETERS[number]
export type UtmValues = Record<UtmParameter, string>

// Code points kept of a value: campaign names are short; a longer one is cut, not dropped.
export const UTM_VALUE_MAX = 64
// A query string is read up to here (Node already refuses request lines over 16 KiB).
const QUERY_MAX = 4096
// Controls (C0, C1, DEL), format characters (bidi overrides, zero-width), lone surrogates, and
// U+FFFD (what a byte sequence that is not UTF-8 decodes to).
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\uFFFD]+/gu

/**
 * utm_source, utm_medium and utm_campaign of a short URL's query string (without "?"): the first
 * occurrence of each, percent-decoded, control characters and invalid UTF-8 removed, whitespace
 * runs as one space, trimmed, lower case (so "Newsletter" and "newsletter" are one row), at most
 * UTM_VALUE_MAX code points. NONE when absent or empty after that.
 */
export function utmValues (rawQuery: string): UtmValues {
  const values: UtmValues = { utm_source: NONE, utm_medium: NONE, utm_campaign: NONE }
  // Most short URLs carry no campaign at all: no parsing for them.
  if (!rawQuery.includes('utm_')) return values
  const params = new URLSearchParams(rawQuery.length > QUERY_MAX ? rawQuery.slice(0, QUERY_MAX) : rawQuery)
  for (const name of UTM_PARAMETERS) {
    const value = params.get(name)
    if (value !== null) values[name] = normalizeUtm(value)
  }
  return values
}

function normalizeUtm (value: string): string {
  const clean = value.replace(UNPRINTABLE, '').replace(/\s+/gu, ' ').trim().toLowerCase()
  if (clean.length === 0) return NONE
  if (clean.length <= UTM_VALUE_MAX) return clean
  // Cut by code points so that no half of a surrogate pair is left at the end.
  return [...clean].slice(0, UTM_VALUE_MAX).join('').trimEnd()
}
