import { parseScopedKey } from '@shortwave/common/domains'
import type { LinkRepository } from '@shortwave/common/link-repository'
import { LRUCache } from 'lru-cache'

// The dimension fold adds each link's clicks to its owner's rollup. A link's owner never changes,
// so it is read once per link (while remembered) rather than once per fold.

const REMEMBERED = 100_000

export function createOwnerLookup (repo: Pick<LinkRepository, 'find'>): (scopedKey: string) => Promise<string | null> {
  // Boxed: an anonymous link's owner is null, which the cache does not hold as a value.
  const owners = new LRUCache<string, { owner: string | null }>({ max: REMEMBERED })
  return async (scopedKey) => {
    const cached = owners.get(scopedKey)
    if (cached !== undefined) return cached.owner
    const { domain, key } = parseScopedKey(scopedKey)
    const owner = (await repo.find(key, domain))?.owner ?? null
    owners.set(scopedKey, { owner })
    return owner
  }
}
