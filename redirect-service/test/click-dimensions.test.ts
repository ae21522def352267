import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DIMENSIONS, createClickDimensions, type ClickDimensionsOf } from '../src/analytics/click-dimensions.ts'
import { bundledCountryDatabase, openCountryLookup, type CountryLookup } from '../src/analytics/country-lookup.ts'
import { createUserAgentParser } from '../src/analytics/user-agent-dimensions.ts'

describe('clickDimensions', () => {
  let countries: CountryLookup
  let clickDimensions: ClickDimensionsOf

  beforeAll(async () => {
    countries = await openCountryLookup(bundledCountryDatabase())
    clickDimensions = createClickDimensions({ countries, userAgents: createUserAgentParser({ cacheSize: 100 }) })
  })
  afterAll(() => countries.close())

  it('derives every dimension of a click from a phone that followed a campaign link on a site', () => {
    expect(clickDimensions({
      referer: 'https://www.Facebook.com/groups/1',
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1',
      address: '2001:67c:2e8:22::c100:68b',
      query: 'utm_source=Facebook&utm_medium=social&utm_campaign=launch'
    })).toEqual({
      referrer: 'facebook.com',
      country: 'NL',
      device: 'mobile',
      browser: 'safari',
      os: 'ios',
      utm_source: 'facebook',
      utm_medium: 'social',
      utm_campaign: 'launch'
    })
  })

  it('derives placeholders for a bare request', () => {
    expect(clickDimensions({ referer: undefined, userAgent: undefined, address: undefined, query: '' })).toEqual({
      referrer: 'direct',
      country: 'unknown',
      device: 'other',
      browser: 'unknown',
      os: 'unknown',
      utm_source: 'none',
      utm_medium: 'none',
      utm_campaign: 'none'
    })
  })

  it('answers a bounded, printable value for every dimension, whatever the request held', () => {
    const junk = ['\u0000\r\n', '\u00ff\u00fe'.repeat(5000), '%'.repeat(1000), '[::1%lo0]', 'utm_source=%00&utm_source=x', 'x'.repeat(100_000)]
    for (const a of junk) {
      for (const b of junk) {
        const dims = clickDimensions({ referer: a, userAgent: b, address: a, query: b })
        expect(Object.keys(dims)).toEqual([...DIMENSIONS])
        for (const value of Object.values(dims)) {
          expect(value.length).toBeGreaterThan(0)
          expect(value.length).toBeLessThanOrEqual(253)
          expect(value).not.toMatch(/[\p{Cc}\p{Cf}]/u)
        }
      }
    }
  })
})
