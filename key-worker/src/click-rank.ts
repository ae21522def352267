import { parseScopedKey } from '@shortwave/common/domains'
import type { LinkIndex } from '@shortwave/common/link-index'
import type { LinkRepository } from '@shortwave/common/link-repository'
import { eachLimited } from './each-limited.ts'

// After each fold, the links it folded clicks for move in link_list_by_clicks (the list's
// sort=clicks) to their new total: read from link_clicks_daily, so the entry says how many clicks
// the link had when the fold ended, whatever order folds ran in. Two workers folding one link at
// once may each write a total; the later write stands until the link's next fold, which corrects
// it. This costs three reads and a batch per link clicked since the last fold, off the redirect path.

export interface ClickRankDeps {
  repo: Pick<LinkRepository, 'find' | 'totalClicks'>
  index: Pick<LinkIndex, 'rank' | 'moveRank'>
}

// Links ranked at once: a trickle next to the fold's own counter batches.
const RANK_CONCURRENCY = 8

/** Moves each folded link (its scoped key, as the click counters name it) to its current total; the links moved. */
export async function rankFolded (deps: ClickRankDeps, scopedKeys: Iterable<string>): Promise<number> {
  let moved = 0
  await eachLimited([...scopedKeys], RANK_CONCURRENCY, async (scoped) => {
    const { domain, key } = parseScopedKey(scoped)
    const link = await deps.repo.find(key, domain)
    if (link === null || link.owner === null) return
    const [total, previous] = await Promise.all([deps.repo.totalClicks(scoped), deps.index.rank(key, domain)])
    if (previous !== null && previous.clicks === total) return
    await deps.index.moveRank(link, domain, total, previous)
    moved++
  })
  return moved
}
