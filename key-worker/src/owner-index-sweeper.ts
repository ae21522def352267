import { isIndexedAs, isLive, type Link, type LinkRepository, type OwnerIndexEntry } from '@shortwave/common/link-repository'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { eachLimited } from './each-limited.ts'

// create-service lists a link under its owner (links_by_owner) before it stores the link, so a
// create that fails after that leaves an entry naming a key that holds no link of that owner; and
// an expired link keeps its entry. Listings skip such entries, but each costs every listing of
// that owner a read. The sweep walks the whole index at a bounded rate and drops the entries a
// listing would skip, by the same rule (isIndexedAs, isLive). It never writes to links: a key is
// handed out once, ever, so its row stays whatever happened to the link.
//
// Only entries older than the grace period are looked at: a create in flight has written its
// entry and not yet its link. A create stalled for longer than the grace (a process paused
// between the two writes) would find its link stored but missing from the owner's list.
//
// Sweeps may overlap (several key-worker replicas, each on its own schedule): each decides from
// the links row alone, none writes anything but the DELETE of an entry, and a DELETE repeated is
// the same DELETE. Overlapping sweeps cost their reads twice, nothing else.

export type StaleReason = 'no_link' | 'other_link' | 'expired'
export const STALE_REASONS: readonly StaleReason[] = ['no_link', 'other_link', 'expired']

/** Why a listing skips the entry (and the sweep drops it), or null when it names a live link. */
export function staleReason (entry: OwnerIndexEntry, link: Link | null, now: number): StaleReason | null {
  // Never stored, still pooled (its creator died between SPOP and the write), or deleted.
  if (link === null) return 'no_link'
  // A lost alias race, or a bypass claim of a key already taken: someone else's, or an older, link.
  if (!isIndexedAs(link, entry.owner, entry)) return 'other_link'
  if (!isLive(link, now)) return 'expired'
  return null
}

export interface SweepDeps {
  repo: Pick<LinkRepository, 'ownerIndexPage' | 'findScoped' | 'unindexOwned'>
  onScanned?: (entries: number) => void
  onRemoved?: (reason: StaleReason) => void
  /** Monotonic milliseconds and a pause that ends early on abort: the pacing. Tests pass fakes. */
  clock?: () => number
  pause?: (ms: number, signal?: AbortSignal) => Promise<void>
}

export interface SweepSettings {
  graceMs: number
  /** The most index entries read per second; each old enough costs a links read too. */
  rowsPerSecond: number
}

export interface SweepOutcome {
  scanned: number
  /** Entries younger than the grace period, left without a look. */
  young: number
  removed: Record<StaleReason, number>
  /** False when the signal stopped the pass before the end of the index. */
  complete: boolean
}

const PAGE_MAX = 100
// Link reads in flight at once: a steady trickle rather than a page's worth at a time.
const LOOKUP_CONCURRENCY = 8

const abortablePause = (ms: number, signal?: AbortSignal): Promise<void> =>
  sleep(ms, undefined, { signal }).catch(() => {})

/**
 * One pass over the whole owner index. `now` decides age and expiry for the pass. With an aborted
 * signal no new page starts; the page in hand is finished.
 */
export async function sweepOwnerIndex (
  deps: SweepDeps, settings: SweepSettings, opts: { now?: number, signal?: AbortSignal } = {}
): Promise<SweepOutcome> {
  const { repo } = deps
  const { signal } = opts
  const now = opts.now ?? Date.now()
  const clock = deps.clock ?? (() => performance.now())
  const pause = deps.pause ?? abortablePause
  const pageSize = Math.min(PAGE_MAX, settings.rowsPerSecond)
  const outcome: SweepOutcome = {
    scanned: 0, young: 0, removed: { no_link: 0, other_link: 0, expired: 0 }, complete: false
  }

  let from: string | null = null
  do {
    if (signal?.aborted) return outcome
    const started = clock()
    const page = await repo.ownerIndexPage(from, pageSize)
    const old = page.entries.filter((entry) => now - entry.createdAt.getTime() >= settings.graceMs)
    outcome.scanned += page.entries.length
    outcome.young += page.entries.length - old.length
    deps.onScanned?.(page.entries.length)
    await eachLimited(old, LOOKUP_CONCURRENCY, async (entry) => {
      const reason = staleReason(entry, await repo.findScoped(entry.key), now)
      if (reason === null) return
      await repo.unindexOwned(entry)
      outcome.removed[reason]++
      deps.onRemoved?.(reason)
    })
    from = page.next
    // A page of n entries takes at least n / rowsPerSecond seconds, however fast Cassandra answers.
    const rest = page.entries.length * 1000 / settings.rowsPerSecond - (clock() - started)
    if (from !== null && rest > 0) await pause(rest, signal)
  } while (from !== null)
  outcome.complete = true
  return outcome
}
