import { describe, expect, it } from 'vitest'
import { NONE, UTM_VALUE_MAX, utmValues } from '../src/analytics/utm.ts'

describe('utmValues', () => {
  it('answers none for each parameter a short URL does not carry', () => {
    expect(utmValues('')).toEqual({ utm_source: NONE, utm_medium: NONE, utm_campaign: NONE })
    expect(utmValues('a=1&b=2')).toEqual({ utm_source: NONE, utm_medium: NONE, utm_campaign: NONE })
    expect(utmValues('utm_source=news')).toEqual({ utm_source: 'news', utm_medium: NONE, utm_campaign: NONE })
  })

  it('decodes, trims, lower-cases and joins whitespace, keeping the first of repeated parameters', () => {
    expect(utmValues('utm_source=Twitter&utm_medium=%20Social%20%20Post+&utm_campaign=Spring%2FSale&utm_source=other'))
      .toEqual({ utm_source: 'twitter', utm_medium: 'social post', utm_campaign: 'spring/sale' })
  })

  it('keeps letters of any script and cuts long values by code point', () => {
    expect(utmValues('utm_campaign=%C3%89t%C3%A9%202026').utm_campaign).toBe('été 2026')
    const long = utmValues(`utm_campaign=${'%F0%9F%98%80'.repeat(100)}`).utm_campaign
    expect([...long]).toHaveLength(UTM_VALUE_MAX)
    expect(long).toBe('\u{1F600}'.repeat(UTM_VALUE_MAX))
    expect(utmValues(`utm_source=${'a'.repeat(10_000)}`).utm_source).toBe('a'.repeat(UTM_VALUE_MAX))
  })

  it('drops control and format characters and bytes that are not UTF-8', () => {
    expect(utmValues('utm_source=a%00b%0D%0Ac%1B%5B31m%E2%80%AEd').utm_source).toBe('abc[31md')
    expect(utmValues('utm_source=%FF%FEx%C3').utm_source).toBe('x')
    expect(utmValues('utm_source=%00%0A%FF').utm_source).toBe(NONE)
    // Bytes over 127 sent unencoded reach Node's request.url as Latin-1 characters.
    expect(utmValues('utm_source=caf\u00c3\u00a9').utm_source).toBe('caf\u00e3\u00a9')
  })

  it('survives garbage query strings', () => {
    for (const query of ['utm_source', 'utm_source=%', 'utm_source=%zz%', '&&&=&=utm_source', 'utm_source=%E0%A4%A', '===utm_medium===x']) {
      const values = utmValues(query)
      for (const value of Object.values(values)) {
        expect(value.length).toBeGreaterThan(0)
        expect([...value].length).toBeLessThanOrEqual(UTM_VALUE_MAX)
      }
    }
    expect(utmValues('utm_source=%zz%').utm_source).toBe('%zz%')
    expect(utmValues(`${'x=1&'.repeat(5000)}utm_source=late`).utm_source).toBe(NONE)
  })
})
