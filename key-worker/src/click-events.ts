import { parseScopedKey } from '@shortwave/common/domains'
import { newEventId, type Outbox } from '@shortwave/common/webhook-outbox'
import type { WebhookStore } from '@shortwave/common/webhook-store'
import type { ClickGroup } from './click-folder.ts'
import { eachLimited } from './each-limited.ts'

// The link.clicked webhook events: one per link per fold pass, with the clicks folded for it in that
// pass (people and bots apart), written to the outbox after the counters were updated. Only while
// some webhook wants them (asked every RECHECK_MS), so a shortener without such webhooks writes
// nothing more per fold. The owner is left for the event-worker to read (it reads the link anyway).
//
// What this does not promise: a worker that crashes between folding and writing the events loses
// those events (the counters are exact regardless); a failed write is kept and tried on the next
// pass, up to MAX_PENDING links.

const RECHECK_MS = 10_000
const MAX_PENDING = 100_000
const WRITE_CONCURRENCY = 16

export interface ClickEventsDeps {
  outbox: Outbox
  store: Pick<WebhookStore, 'anySubscriber'>
  now?: () => number
}

export function createClickEvents (deps: ClickEventsDeps) {
  const now = deps.now ?? Date.now
  const pending = new Map<string, { clicks: number, botClicks: number }>()
  let wanted = false
  let checkedAt = -Infinity

  async function isWanted (): Promise<boolean> {
    if (now() - checkedAt >= RECHECK_MS) {
      wanted = await deps.store.anySubscriber('link.clicked')
      checkedAt = now()
    }
    return wanted
  }

  return {
    /** A folded group (onFolded): its clicks join the link's event of this pass. */
    add (group: ClickGroup): void {
      const counts = pending.get(group.key)
      if (counts !== undefined) {
        counts.clicks += group.clicks
        counts.botClicks += group.botClicks
      } else if (pending.size < MAX_PENDING) {
        pending.set(group.key, { clicks: group.clicks, botClicks: group.botClicks })
      }
    },

    /** Writes one event per link folded since the last flush; the events written. */
    async flush (): Promise<number> {
      if (pending.size === 0) return 0
      if (!await isWanted()) {
        pending.clear()
        return 0
      }
      const at = new Date(now())
      const links = [...pending]
      await eachLimited(links, WRITE_CONCURRENCY, async ([scoped, counts]) => {
        const { domain, key } = parseScopedKey(scoped)
        await deps.outbox.record({
          id: newEventId(),
          type: 'link.clicked',
          occurredAt: at,
          scopedKey: scoped,
          owner: null,
          checkVersion: null,
          data: { key, domain: domain === '' ? null : domain, ...counts }
        })
        pending.delete(scoped)
      })
      return links.length
    }
  }
}
export type ClickEvents = ReturnType<typeof createClickEvents>
