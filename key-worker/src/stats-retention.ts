import { STATS_BUCKETS, type ClickRollups } from '@shortwave/common/click-rollups'

// Analytics rows older than the retention go month by month: each month's scopes are listed in
// stats_scopes_by_month (written by the fold), so a month is deleted without scanning a table.
// Counters cannot carry a TTL; deleting a past month is safe because no click is counted into it
// any more. Unique visitors of those months go with them. Several workers sweeping at once only
// repeat each other's deletes.

export interface RetentionDeps {
  rollups: Pick<ClickRollups, 'scopesOfMonth' | 'dropMonth' | 'dropVisitors' | 'dropMonthIndex'>
  now?: () => number
  onDropped?: (scopes: number) => void
}

/** Months before the first one kept that a sweep looks at: a worker down for years is not expected. */
const LOOK_BACK_MONTHS = 12

/** 'YYYY-MM' of the first month kept when `months` are kept, the current one included. */
export function firstMonthKept (now: number, months: number): string {
  const d = new Date(now)
  const index = d.getUTCFullYear() * 12 + d.getUTCMonth() - (months - 1)
  return monthAt(index)
}

function monthAt (index: number): string {
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String(index % 12 + 1).padStart(2, '0')}`
}

/** Deletes the analytics of the months before the retention; the scope-months deleted. */
export async function sweepRetention (deps: RetentionDeps, months: number, signal?: AbortSignal): Promise<number> {
  if (months === 0) return 0
  const now = (deps.now ?? Date.now)()
  const first = firstMonthKept(now, months)
  const firstIndex = Number(first.slice(0, 4)) * 12 + Number(first.slice(5, 7)) - 1
  let dropped = 0
  for (let index = firstIndex - LOOK_BACK_MONTHS; index < firstIndex; index++) {
    const month = monthAt(index)
    for (let bucket = 0; bucket < STATS_BUCKETS; bucket++) {
      if (signal?.aborted) return dropped
      const scopes = await deps.rollups.scopesOfMonth(month, bucket)
      for (const scope of scopes) {
        await deps.rollups.dropMonth(scope, month)
        await deps.rollups.dropVisitors(scope, `${first}-01`)
      }
      if (scopes.length > 0) await deps.rollups.dropMonthIndex(month, bucket)
      dropped += scopes.length
      deps.onDropped?.(scopes.length)
    }
  }
  return dropped
}
