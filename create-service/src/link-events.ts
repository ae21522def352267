import { scopedKeyOf, type Link, type StoredLink } from '@shortwave/common/link-repository'
import { newEventId, type Outbox } from '@shortwave/common/webhook-outbox'
import { toLinkBody, type ShortUrls } from './schemas.ts'
import type { LinkEventType, WebhookInterest } from './webhook-interest.ts'

// The webhook events of link changes (README "Webhooks"). Each is written to the outbox BEFORE the
// change it describes, and the request fails if it cannot be: so a change that was stored always
// has its event, whatever crashes after. A change that then fails (an alias taken, a lost edit
// race, a crash before the write) leaves an event for nothing: the event-worker checks each one
// against the links row before it goes out, and drops those whose change never showed
// (event-worker/src/confirm.ts).

export interface LinkEvents {
  created: (link: Link) => Promise<void>
  /** `after`: the link as the edit stores it (its new version and updatedAt). */
  updated: (after: StoredLink, changed: readonly string[]) => Promise<void>
  deleted: (link: StoredLink, at: Date) => Promise<void>
}

/** `interest`: whether some webhook may want the event (webhook-interest.ts); one nobody wants is not written. */
export function createLinkEvents (
  outbox: Outbox, urls: ShortUrls, interest: Pick<WebhookInterest, 'wants'> = { wants: () => true }
): LinkEvents {
  async function record (
    type: LinkEventType, link: Link, at: Date, checkVersion: number | null, extra: Record<string, unknown> = {}
  ): Promise<void> {
    if (!interest.wants(type, link.owner)) return
    await outbox.record({
      id: newEventId(),
      type,
      occurredAt: at,
      scopedKey: scopedKeyOf(link),
      owner: link.owner,
      checkVersion,
      data: { ...toLinkBody(link, urls), version: link.version ?? 0, ...extra }
    })
  }
  return {
    created: (link) => record('link.created', link, link.createdAt, null),
    updated: (after, changed) => record('link.updated', after, after.updatedAt!, after.version, { changed }),
    deleted: (link, at) => record('link.deleted', link, at, null, { deletedAt: at.toISOString() })
  }
}

/** For a service without webhooks (tests of other things): no events. */
export const NO_LINK_EVENTS: LinkEvents = {
  created: async () => {},
  updated: async () => {},
  deleted: async () => {}
}
