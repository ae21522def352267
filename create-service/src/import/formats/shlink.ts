import { boolean, instant, integer, present, tags, text } from '../fields.ts'
import type { ImportLayout } from './format.ts'

// Shlink: the web client's "Export" of short URLs (shlinkio/shlink-web-component
// src/short-urls/data/index.ts, ExportableShortUrl, written to short_urls.csv by
// src/utils/services/ReportExporter.ts): createdAt, shortUrl, longUrl, title, tags, visits,
// shortCode, domain — tags joined by "|" (shlinkio/shlink-importer
// src/Sources/Csv/CsvImporter.php reads Shlink's CSV the same way). A short URL as its REST API
// answers it (shortCode, longUrl, dateCreated, tags[], title, forwardQuery, meta{validSince,
// validUntil, maxVisits}) is taken too, one object a line. Shlink's domain is its own: the key
// lands on the default domain.
export const shlink: ImportLayout = {
  name: 'shlink',
  detect: (columns) => columns.has('longurl') && columns.has('shortcode'),
  toFields: (v) => {
    const meta = typeof v['meta'] === 'object' && v['meta'] !== null ? v['meta'] as Record<string, unknown> : {}
    return present({
      url: text(v['longurl']),
      key: text(v['shortcode']),
      title: text(v['title']),
      tags: tags(v['tags']),
      expiresAt: instant(meta['validUntil'] ?? v['validuntil']),
      validFrom: instant(meta['validSince'] ?? v['validsince']),
      maxClicks: integer(meta['maxVisits'] ?? v['maxvisits']),
      forwardQuery: boolean(v['forwardquery'])
    })
  }
}
