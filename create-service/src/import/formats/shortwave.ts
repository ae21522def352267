import { boolean, instant, integer, present, tags, text } from '../fields.ts'
import type { ImportLayout } from './format.ts'

// Shortwave's own export (GET /api/v1/links/export, export/link-rows.ts): one column per field
// of a create, `key` for the alias (`alias` is taken too). shortUrl, createdAt, updatedAt and
// clicks are the export's own and are not imported: a link is created now, with no clicks.
export const shortwave: ImportLayout = {
  name: 'shortwave',
  detect: (columns) => columns.has('url'),
  toFields: (v) => present({
    url: text(v['url']),
    key: text(v['key'] ?? v['alias']),
    domain: text(v['domain']),
    title: text(v['title']),
    tags: tags(v['tags']),
    expiresAt: instant(v['expiresat']),
    validFrom: instant(v['validfrom']),
    maxClicks: integer(v['maxclicks']),
    fallbackUrl: text(v['fallbackurl']),
    disabled: boolean(v['disabled']),
    forwardQuery: boolean(v['forwardquery']),
    redirectStatus: integer(v['redirectstatus'])
  })
}
