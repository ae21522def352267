import { present, text } from '../fields.ts'
import type { ImportLayout } from './format.ts'

// YOURLS: the columns of its `yourls_url` table — keyword, url, title, timestamp, ip, clicks
// (YOURLS/YOURLS includes/functions-install.php; the admin list in index.php reads the same
// ones) — which is what a CSV dump of that table and its API's `stats`/`url-stats` links hold
// (`shorturl` instead of keyword there). The YOURLS-Import-Export plugin
// (GautamGupta/YOURLS-Import-Export fileio/csv.php) writes `source,target,hits`, source being
// "/keyword/". ip, timestamp and clicks are YOURLS's own and not imported.
export const yourls: ImportLayout = {
  name: 'yourls',
  detect: (columns) => (columns.has('keyword') && columns.has('url')) ||
    (columns.has('shorturl') && columns.has('url') && (columns.has('ip') || columns.has('timestamp'))) ||
    (columns.has('source') && columns.has('target')),
  toFields: (v) => present({
    url: text(v['url'] ?? v['target']),
    key: keyword(v),
    title: text(v['title'])
  })
}

function keyword (v: Record<string, unknown>): unknown {
  if (v['keyword'] !== undefined) return text(v['keyword'])
  const source = text(v['source'])
  if (typeof source === 'string') return text(source.replace(/^\/+|\/+$/g, ''))
  const short = text(v['shorturl'])
  return typeof short === 'string' ? text(short.replace(/\/+$/, '').split('/').at(-1)) : short
}
