import { describe, expect, it } from 'vitest'
import { resolveExpiry } from '../src/expiry.ts'

const NOW = Date.parse('2026-03-01T12:00:00Z')
const FIVE_YEARS = 157_680_000

describe('resolveExpiry', () => {
  it('is null when neither expiresAt nor ttlSeconds is given', () => {
    expect(resolveExpiry({}, FIVE_YEARS, NOW)).toBeNull()
  })

  const accepted: Array<[string, string, string]> = [
    ['UTC with Z', '2026-03-02T12:00:00Z', '2026-03-02T12:00:00.000Z'],
    ['a numeric offset', '2026-03-02T14:00:00+02:00', '2026-03-02T12:00:00.000Z'],
    ['fractional seconds', '2026-03-02T12:00:00.250Z', '2026-03-02T12:00:00.250Z'],
    ['no seconds', '2026-03-02T12:00Z', '2026-03-02T12:00:00.000Z'],
    ['lower-case separators', '2026-03-02t12:00:00z', '2026-03-02T12:00:00.000Z'],
    ['a leap day', '2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['exactly the maximum', new Date(NOW + FIVE_YEARS * 1000).toISOString(), new Date(NOW + FIVE_YEARS * 1000).toISOString()]
  ]
  it.each(accepted)('accepts expiresAt with %s', (_name, expiresAt, expected) => {
    expect(resolveExpiry({ expiresAt }, FIVE_YEARS, NOW)?.toISOString()).toBe(expected)
  })

  it('turns ttlSeconds into an instant after now', () => {
    expect(resolveExpiry({ ttlSeconds: 60 }, FIVE_YEARS, NOW)?.toISOString()).toBe('2026-03-01T12:01:00.000Z')
    expect(resolveExpiry({ ttlSeconds: FIVE_YEARS }, FIVE_YEARS, NOW)?.getTime()).toBe(NOW + FIVE_YEARS * 1000)
  })

  const refused: Array<[string, { expiresAt?: string, ttlSeconds?: number }, RegExp]> = [
    ['expiresAt in the past', { expiresAt: '2026-03-01T11:59:59Z' }, /in the past/],
    ['expiresAt equal to now', { expiresAt: '2026-03-01T12:00:00Z' }, /in the past/],
    ['expiresAt beyond the maximum', { expiresAt: '2031-03-02T12:00:00Z' }, /at most 5 years ahead/],
    ['garbage', { expiresAt: 'tomorrow' }, /ISO-8601/],
    ['a date without a time', { expiresAt: '2026-03-02' }, /ISO-8601/],
    ['a time without a zone', { expiresAt: '2026-03-02T12:00:00' }, /time zone/],
    ['a day that does not exist', { expiresAt: '2026-02-30T12:00:00Z' }, /ISO-8601/],
    ['hour 24', { expiresAt: '2026-03-02T24:00:00Z' }, /ISO-8601/],
    ['an offset out of range', { expiresAt: '2026-03-02T12:00:00+25:00' }, /ISO-8601/],
    ['a number-like string', { expiresAt: '1767225600000' }, /ISO-8601/],
    ['ttlSeconds 0', { ttlSeconds: 0 }, /whole number from 1 to 157680000 \(5 years\)/],
    ['ttlSeconds -1', { ttlSeconds: -1 }, /whole number/],
    ['ttlSeconds 1.5', { ttlSeconds: 1.5 }, /whole number/],
    ['ttlSeconds beyond the maximum', { ttlSeconds: FIVE_YEARS + 1 }, /whole number/],
    ['both expiresAt and ttlSeconds', { expiresAt: '2026-03-02T12:00:00Z', ttlSeconds: 60 }, /either expiresAt or ttlSeconds, not both/]
  ]
  it.each(refused)('refuses %s', (_name, input, message) => {
    expect(() => resolveExpiry(input, FIVE_YEARS, NOW)).toThrow(expect.objectContaining({ code: 'SW_INVALID_EXPIRY', statusCode: 400, message: expect.stringMatching(message) }))
  })
})
