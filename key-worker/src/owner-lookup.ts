import { parseScopedKey } from '@shortwave/common/domains'
import type { LinkRepository } from '@shortwave/common/link-repository'

// The dimension fold adds each link's clicks to its owner's rollup. A link's owner never changes,
// so it is read once per link (while remembered) rather than once per fold.

const REMEMBERED = 100_000

export function createOwnerLookup (repo: Pick<LinkRepository, 'find'>): (scopedKey: string) => Promise<string | null> {
  const owners = new Map<string, string | null>()
  return async (scopedKey) => {
    const cached = owners.get(scopedKey)
    if (cached !== undefined) return cached
    const { domain, key } = parseScopedKey(scopedKey)
    const owner = (await repo.find(key, domain))?.owner ?? null
    if (owners.size >= REMEMBERED) owners.delete(owners.keys().next().value!)
    owners.set(scopedKey, owner)
    return owner
  }
}
