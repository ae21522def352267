import { createRequire } from 'node:module'
import { isIP } from 'node:net'
import { isSpecialAddress } from '@shortwave/common/special-addresses'
import { open, type Reader, type Response } from 'maxmind'

/** A click whose address no database entry covers: private, loopback, unallocated, or not an address. */
export const UNKNOWN_COUNTRY = 'unknown'

export interface CountryLookup {
  /** The ISO 3166-1 alpha-2 code (upper case) of the address's country, or UNKNOWN_COUNTRY. */
  country (address: string | undefined): string
  /** Drops the database (a few MB in memory); every lookup after it answers UNKNOWN_COUNTRY. */
  close (): void
  /** The database's own description (type and build date), for the start-up log. */
  readonly description: string
}

// The record of a country database. ip-location-db's (geo-whois-asn-country, CC0) carries
// country_code; MaxMind's GeoLite2/GeoIP2 Country and City, and the databases shaped like them
// (DB-IP Lite), carry country.iso_code, or only registered_country for some networks.
interface CountryRecord {
  country_code?: unknown
  country?: { iso_code?: unknown }
  registered_country?: { iso_code?: unknown }
}

const COUNTRY_CODE = /^[A-Z]{2}$/
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i
// Distinct records of a country database are a few hundred: the reader caches them by offset.
const RECORD_CACHE = 1000

/**
 * The CC0 database that comes with the service (@ip-location-db/geo-whois-asn-country-mmdb, IPv4
 * and IPv6 in one file; its data is the RIRs' and NRO's, CC BY 4.0: attribute nro.net).
 */
export function bundledCountryDatabase (): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb')
}

/**
 * Opens an MMDB country database (the path is configuration, so operators can drop in their own)
 * and answers lookups from memory. Created once by the service and closed when it stops; the file
 * is read once, never watched.
 */
export async function openCountryLookup (path: string): Promise<CountryLookup> {
  let reader: Reader<Response> | null
  try {
    reader = await open<Response>(path, { cache: { max: RECORD_CACHE } })
  } catch (cause) {
    throw new Error(`cannot read the country database ${JSON.stringify(path)}: ${(cause as Error).message}`, { cause })
  }
  const { databaseType, buildEpoch } = reader.metadata
  const description = `${databaseType} built ${buildEpoch.toISOString().slice(0, 10)}`

  return {
    description,

    country (address) {
      const ip = lookupAddress(address)
      if (reader === null || ip === null) return UNKNOWN_COUNTRY
      let record: CountryRecord | null
      try {
        record = reader.get(ip) as CountryRecord | null
      } catch {
        return UNKNOWN_COUNTRY
      }
      const code = record?.country_code ?? record?.country?.iso_code ?? record?.registered_country?.iso_code
      return typeof code === 'string' && COUNTRY_CODE.test(code) ? code : UNKNOWN_COUNTRY
    },

    close () {
      reader = null
    }
  }
}

/**
 * The address as the database is keyed: without brackets or an IPv6 zone ("fe80::1%eth0"), an
 * IPv4-mapped IPv6 address as IPv4; null when it is not an IP address at all, or one that is
 * nobody's on the Internet (private, loopback, documentation…): the CC0 database maps some of
 * those to a country (2001:db8::/32 to JP, 203.0.113.0/24 to AU).
 */
export function lookupAddress (address: string | undefined): string | null {
  if (address === undefined || address.length === 0 || address.length > 64) return null
  let ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const zone = ip.indexOf('%')
  if (zone !== -1) ip = ip.slice(0, zone)
  ip = MAPPED_IPV4.exec(ip)?.[1] ?? ip
  return isIP(ip) === 0 || isSpecialAddress(ip) ? null : ip
}
