import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UNKNOWN_COUNTRY, bundledCountryDatabase, lookupAddress, openCountryLookup, type CountryLookup } from '../src/analytics/country-lookup.ts'

// The real CC0 database of @ip-location-db/geo-whois-asn-country-mmdb: networks whose country
// does not change with its daily builds (resolvers and registries of long standing).
describe('openCountryLookup on the bundled database', () => {
  let countries: CountryLookup

  beforeAll(async () => {
    countries = await openCountryLookup(bundledCountryDatabase())
  })
  afterAll(() => countries.close())

  it('finds the database file in node_modules and describes it', () => {
    expect(bundledCountryDatabase()).toMatch(/node_modules\/@ip-location-db\/geo-whois-asn-country-mmdb\/geo-whois-asn-country\.mmdb$/)
    expect(existsSync(bundledCountryDatabase())).toBe(true)
    expect(countries.description).toMatch(/^country .+ built \d{4}-\d{2}-\d{2}$/)
  })

  it.each([
    ['8.8.8.8', 'US'],
    ['1.1.1.1', 'AU'],
    ['193.0.6.139', 'NL'],
    ['200.160.2.3', 'BR'],
    ['133.11.0.1', 'JP'],
    ['2001:4860:4860::8888', 'US'],
    ['2001:67c:2e8:22::c100:68b', 'NL'],
    ['::ffff:8.8.8.8', 'US'],
    ['::FFFF:193.0.6.139', 'NL'],
    ['[2001:4860:4860::8888]', 'US'],
    ['2001:4860:4860::8888%eth0', 'US']
  ])('maps %s to %s', (address, country) => {
    expect(countries.country(address)).toBe(country)
  })

  it.each([
    ['loopback', '127.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['private', '10.1.2.3'],
    ['carrier-grade NAT', '100.64.0.1'],
    ['link-local with a zone', 'fe80::1%eth0'],
    ['unique-local', 'fd12:3456::1'],
    // The database maps these to JP and AU: a documentation address is nobody's.
    ['IPv6 documentation', '2001:db8::1'],
    ['IPv4 documentation', '203.0.113.5'],
    ['absent', undefined],
    ['empty', ''],
    ['a host name', 'example.com'],
    ['an address with a port', '8.8.8.8:53'],
    ['a list from X-Forwarded-For', '8.8.8.8, 1.1.1.1'],
    ['an out-of-range octet', '256.1.1.1'],
    ['control characters', '8.8.8.8\u0000'],
    ['a huge value', '1'.repeat(100_000)]
  ])('answers unknown for %s', (_, address) => {
    expect(countries.country(address)).toBe(UNKNOWN_COUNTRY)
  })

  it('answers unknown once closed', async () => {
    const own = await openCountryLookup(bundledCountryDatabase())
    expect(own.country('8.8.8.8')).toBe('US')
    own.close()
    expect(own.country('8.8.8.8')).toBe(UNKNOWN_COUNTRY)
  })
})

describe('openCountryLookup', () => {
  it('fails with a message naming the path when the file is missing or no database', async () => {
    await expect(openCountryLookup('/nonexistent/country.mmdb')).rejects.toThrow(/"\/nonexistent\/country\.mmdb"/)
    await expect(openCountryLookup(new URL(import.meta.url).pathname)).rejects.toThrow(/cannot read the country database/)
  })
})

describe('lookupAddress', () => {
  it('strips brackets and zones and unmaps IPv4-mapped addresses', () => {
    expect(lookupAddress('[2001:4860::1]')).toBe('2001:4860::1')
    expect(lookupAddress('2001:4860::1%25eth0')).toBe('2001:4860::1')
    expect(lookupAddress('::ffff:8.8.4.4')).toBe('8.8.4.4')
    expect(lookupAddress('8.8.4.4')).toBe('8.8.4.4')
  })
})
