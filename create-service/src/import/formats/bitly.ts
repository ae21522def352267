import { instant, pathOf, present, tags, text } from '../fields.ts'
import type { ImportLayout } from './format.ts'

// Bitly: a Bitlink as its API v4 lists them (GET /v4/groups/{group_guid}/bitlinks) and as its
// CSV export (POST /v4/groups/{group_guid}/exports, export_type links_list) writes them: `link`
// (or `id`) the short link, e.g. https://bit.ly/3xYz12A, `long_url`, `title`, `created_at`,
// `tags`. Sources: shlinkio/shlink-importer src/Sources/Bitly/BitlyApiImporter.php (the fields
// it reads, the back-half taken from the link's path), Coupler's Bitly data overview (the field
// list), Bitly's exports endpoint description. A UI export spells them "Bitlink", "Long URL":
// the names are compared normalised.
//
// The back-half becomes the key; Bitly's own domain (bit.ly or a branded one) is not Shortwave's,
// so the link lands on the default domain. created_at is not kept (links are created now).
export const bitly: ImportLayout = {
  name: 'bitly',
  detect: (columns) => columns.has('longurl') && (columns.has('link') || columns.has('bitlink') || columns.has('id')),
  toFields: (v) => present({
    url: text(v['longurl']),
    key: pathOf(v['link'] ?? v['bitlink'] ?? v['id']),
    title: text(v['title']),
    tags: tags(v['tags']),
    expiresAt: instant(v['expirationat'] ?? v['expiresat'])
  })
}
