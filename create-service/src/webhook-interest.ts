import { createReloader } from '@shortwave/common/reloader'
import type { EventType } from '@shortwave/common/webhook-outbox'
import { ALL_LINKS, type WebhookStore } from '@shortwave/common/webhook-store'

// Which link changes some webhook wants, held in memory: an event goes to the outbox only then.
// Writing one for every create cost creation a third of its rate (docs/benchmarks.md), though
// most links have no webhook watching them. The view is reloaded when a replica announces a
// webhook registered or removed (pub/sub) and every reloadMs; a webhook registered on another
// replica is seen within the announcement's delay (milliseconds), or reloadMs when the message
// is lost. Until the view is first loaded, and once it is older than STALE_AFTER reloads (Cassandra
// unreachable), every change has its event written: the fan-out drops the ones nobody wants.

export const LINK_EVENT_TYPES = ['link.created', 'link.updated', 'link.deleted'] as const satisfies readonly EventType[]
export type LinkEventType = typeof LINK_EVENT_TYPES[number]

export interface WebhookInterestOptions {
  store: Pick<WebhookStore, 'subscribedScopes'>
  reloadMs: number
  onError: (err: Error) => void
  now?: () => number
}

const STALE_AFTER = 3

export function createWebhookInterest (opts: WebhookInterestOptions) {
  const now = opts.now ?? Date.now
  let scopes: Map<LinkEventType, Set<string>> | null = null
  let loadedAt = 0
  const reloader = createReloader({
    reloadMs: opts.reloadMs,
    onError: opts.onError,
    loadOnce: async () => {
      const started = now()
      const sets = await Promise.all(LINK_EVENT_TYPES.map((type) => opts.store.subscribedScopes(type)))
      scopes = new Map(LINK_EVENT_TYPES.map((type, i) => [type, sets[i]!]))
      loadedAt = started
    }
  })

  return {
    ...reloader,
    /** Whether a change of this type to a link of this owner (null: anonymous) may have a subscriber. */
    wants (type: LinkEventType, owner: string | null): boolean {
      if (scopes === null || now() - loadedAt > STALE_AFTER * opts.reloadMs) return true
      const subscribed = scopes.get(type)!
      return subscribed.has(ALL_LINKS) || (owner !== null && subscribed.has(owner))
    }
  }
}
export type WebhookInterest = ReturnType<typeof createWebhookInterest>
