import { instant, present, text } from '../fields.ts'
import type { ImportLayout } from './format.ts'

// Kutt: a link as its API v2 lists them (GET /api/v2/links → data[]) — `address` (the key),
// `target`, `description`, `expire_in`, `domain`, `visit_count`, `created_at`, `link`, `banned`,
// `password`; Kutt has no file export of its own (thedevs-network/kutt#37, #382), so its users
// save that list, one object a line (NDJSON) or as CSV with those columns. Source: the fields
// shlinkio/shlink-importer src/Sources/Kutt/KuttImporter.php reads, and Kutt's API docs.
// Kutt's domain is its own (kutt.it or a custom one), not Shortwave's: the key lands on the
// default domain. A password-protected Kutt link has no equivalent here and is imported open.
export const kutt: ImportLayout = {
  name: 'kutt',
  detect: (columns) => columns.has('target') && columns.has('address'),
  toFields: (v) => present({
    url: text(v['target']),
    key: text(v['address']),
    title: text(v['description']),
    expiresAt: instant(v['expirein'])
  })
}
