import { isIndexedAs, type LinkRepository, type OwnedPosition, type StoredLink } from '@shortwave/common/link-repository'
import { CSV_HEADER, csvLine, ndjsonLine, type ExportFormat, type ExportedLink } from './link-rows.ts'

// GET /api/v1/links/export: an owner's links, read from their owner index (links_by_owner) a page
// at a time and written out as they come, never all in memory. Each link is read by its key with
// its clicks, a page's links at once. Expired links are exported (they keep their row and clicks
// and their owner may read them); deleted ones are not.

export const EXPORT_PAGE = 100

export interface ExportOptions {
  repo: Pick<LinkRepository, 'ownedPage' | 'findScoped' | 'totalClicks'>
  present: (link: StoredLink, clicks: number) => ExportedLink
}

/** One page of the owner's links with their clicks, and where the next page starts (null after the last). */
async function page (opts: ExportOptions, owner: string, after: OwnedPosition | null) {
  const entries = await opts.repo.ownedPage(owner, after, EXPORT_PAGE)
  const links = await Promise.all(entries.map(async (entry) => {
    // The entry's key is the scoped key (links_by_owner), so links of every domain are exported.
    const link = await opts.repo.findScoped(entry.key)
    if (link === null || !isIndexedAs(link, owner, entry)) return null
    return opts.present(link, await opts.repo.totalClicks(entry.key))
  }))
  return { links: links.filter((l) => l !== null), next: entries.length < EXPORT_PAGE ? null : entries.at(-1)! }
}

/**
 * The export as text chunks: the first page is read before anything is yielded, so a store that is
 * down answers 503 rather than a cut-off file.
 */
export async function exportLinks (opts: ExportOptions, owner: string, format: ExportFormat) {
  const line = format === 'csv' ? csvLine : ndjsonLine
  const first = await page(opts, owner, null)
  return (async function * () {
    if (format === 'csv') yield CSV_HEADER
    let current = first
    while (true) {
      if (current.links.length > 0) yield current.links.map(line).join('')
      if (current.next === null) return
      current = await page(opts, owner, current.next)
    }
  })()
}
