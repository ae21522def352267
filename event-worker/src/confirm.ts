import { linkBucket, parseScopedKey } from '@shortwave/common/domains'
import type cassandra from 'cassandra-driver'
import type { QueueRow } from './queue.ts'

// create-service writes a link's event before the change (create-service/src/link-events.ts), so an
// event may describe a change that never got stored: a lost alias race, a lost edit race, a crash.
// Before an event is fanned out, the links row (and for an edit, the history) says whether it did.
//
//   link.created  the row holds a link created at the event's time (deleted since or not)
//   link.updated  the row's version reached the edit's, and that version is this edit: the row's
//                 updated_at (still the last edit) or the history's edited_at (later edits came)
//   link.deleted  the row is marked deleted
//   link.clicked  written after the counters, nothing to check
//
// 'pending' while the change may still be on its way; the caller drops the event once it has been
// pending longer than a request can take.

export type Confirmation = 'yes' | 'no' | 'pending'

const Q = {
  link: 'SELECT url, created_at, version, updated_at, deleted_at, owner FROM links WHERE bucket = ? AND key = ?',
  edit: 'SELECT edited_at FROM link_edits WHERE key = ? AND version = ?'
}
const OPTS = { prepare: true, isIdempotent: true } as const

const same = (a: unknown, b: Date): boolean => a instanceof Date && a.getTime() === b.getTime()

export function createConfirmer (client: cassandra.Client) {
  async function linkRow (scoped: string): Promise<cassandra.types.Row | null> {
    const { domain, key } = parseScopedKey(scoped)
    return (await client.execute(Q.link, [linkBucket(domain, key), key], OPTS)).first() ?? null
  }

  return {
    async confirm (event: QueueRow): Promise<Confirmation> {
      if (event.eventType === 'link.clicked') return 'yes'
      const row = await linkRow(event.scopedKey)
      if (event.eventType === 'link.created') {
        // created_at stays when the link is deleted (url does not).
        const createdAt = row?.['created_at'] as Date | null | undefined
        if (createdAt == null) return 'pending'
        return same(createdAt, event.occurredAt) ? 'yes' : 'no'
      }
      if (event.eventType === 'link.deleted') return row?.['deleted_at'] != null ? 'yes' : 'pending'
      const version = (row?.['version'] as number | null | undefined) ?? 0
      const wanted = event.checkVersion ?? 0
      if (version < wanted) return 'pending'
      if (version === wanted) return same(row?.['updated_at'], event.occurredAt) ? 'yes' : 'no'
      const edit = (await client.execute(Q.edit, [event.scopedKey, wanted], OPTS)).first()
      // No history row: the edit stood but its history write failed; at least once, so it goes.
      return edit == null || same(edit['edited_at'], event.occurredAt) ? 'yes' : 'no'
    },

    /** The owner of a link (for click events, which do not carry it); null when anonymous or unknown. */
    async ownerOf (scoped: string): Promise<string | null> {
      return ((await linkRow(scoped))?.['owner'] as string | null | undefined) ?? null
    }
  }
}
export type Confirmer = ReturnType<typeof createConfirmer>
