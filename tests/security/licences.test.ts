import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

// What the images ship is every package of the lockfile that is not a dev dependency. Each must
// carry a permissive licence: no AGPL (nor GPL or LGPL) in what we ship (ua-parser-js 2.x is AGPL,
// hence bowser). The country database's data is CC BY 4.0: attributed in NOTICE.

const ALLOWED = new Set(['MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', 'CC0-1.0', 'BlueOak-1.0.0', 'Unlicense', '0BSD'])

interface LockEntry {
  license?: string
  dev?: boolean
  link?: boolean
}

describe('licences of what we ship', () => {
  it('are all permissive: no AGPL, GPL or LGPL among the production dependencies', async () => {
    const lock = JSON.parse(await readFile(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockEntry> }
    const shipped = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && entry.link !== true)
    expect(shipped.length).toBeGreaterThan(50)
    const refused = shipped.filter(([, entry]) => !ALLOWED.has(entry.license ?? '')).map(([path, entry]) => `${path}: ${entry.license ?? 'none'}`)
    expect(refused).toEqual([])
    expect(shipped.map(([path]) => path)).toContain('node_modules/@ip-location-db/geo-whois-asn-country-mmdb')
  })

  it('attribute the country data to its source, as CC BY 4.0 asks', async () => {
    const notice = await readFile(new URL('../../NOTICE', import.meta.url), 'utf8')
    expect(notice).toContain('CC BY 4.0')
    expect(notice).toContain('nro.net')
  })
})
