import { slotOf, UNFANNED, type EventType } from '@shortwave/common/webhook-outbox'
import type cassandra from 'cassandra-driver'

// The webhook queue in Cassandra (common/src/cassandra/schema-webhooks.ts, webhook_queue): each
// statement names one partition, (shard, slot), or one row of the cursors. Rows are read a
// partition at a time, in due order.

export interface QueueRow {
  shard: number
  slot: number
  dueAt: Date
  eventId: string
  /** UNFANNED ('') for an event not fanned out yet; else the webhook this delivery is for. */
  webhookId: string
  eventType: EventType
  scopedKey: string
  owner: string | null
  occurredAt: Date
  checkVersion: number | null
  payload: string
  /** Attempts made so far. */
  attempt: number
  firstAttemptAt: Date | null
}

const OPTS = { prepare: true, isIdempotent: true } as const
const COLUMNS = 'shard, slot, due_at, event_id, webhook_id, event_type, scoped_key, owner, occurred_at, check_version, payload, attempt, first_attempt_at'

const Q = {
  slot: `SELECT ${COLUMNS} FROM webhook_queue WHERE shard = ? AND slot = ? LIMIT ?`,
  insert: `INSERT INTO webhook_queue (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  delete: 'DELETE FROM webhook_queue WHERE shard = ? AND slot = ? AND due_at = ? AND event_id = ? AND webhook_id = ?',
  cursor: 'SELECT slot FROM webhook_queue_cursors WHERE shard = ?',
  setCursor: 'INSERT INTO webhook_queue_cursors (shard, slot) VALUES (?, ?)'
}

function toRow (row: cassandra.types.Row): QueueRow {
  return {
    shard: row['shard'] as number,
    slot: Number(row['slot']),
    dueAt: row['due_at'] as Date,
    eventId: row['event_id'] as string,
    webhookId: row['webhook_id'] as string,
    eventType: row['event_type'] as EventType,
    scopedKey: row['scoped_key'] as string,
    owner: (row['owner'] as string | null) ?? null,
    occurredAt: row['occurred_at'] as Date,
    checkVersion: (row['check_version'] as number | null) ?? null,
    payload: row['payload'] as string,
    attempt: (row['attempt'] as number | null) ?? 0,
    firstAttemptAt: (row['first_attempt_at'] as Date | null) ?? null
  }
}

const insertParams = (row: QueueRow): unknown[] => [
  row.shard, row.slot, row.dueAt, row.eventId, row.webhookId, row.eventType, row.scopedKey, row.owner, row.occurredAt,
  row.checkVersion, row.payload, row.attempt, row.firstAttemptAt
]
const deleteParams = (row: QueueRow): unknown[] => [row.shard, row.slot, row.dueAt, row.eventId, row.webhookId]

export function createQueue (client: cassandra.Client) {
  return {
    /** One shard's minute, in due order; `limit` rows at most. */
    async slot (shard: number, slot: number, limit: number): Promise<QueueRow[]> {
      const result = await client.execute(Q.slot, [shard, slot, limit], { ...OPTS, fetchSize: limit })
      return result.rows.map(toRow)
    },

    /**
     * Replaces an event by its deliveries, one per webhook, in its own partition: one logged
     * single-partition batch, so the event is either still there or fully fanned out. Repeating it
     * writes the same rows again.
     */
    async fanOut (event: QueueRow, webhookIds: readonly string[]): Promise<QueueRow[]> {
      const deliveries = webhookIds.map((webhookId) => ({ ...event, webhookId }))
      await client.batch([
        ...deliveries.map((row) => ({ query: Q.insert, params: insertParams(row) })),
        { query: Q.delete, params: deleteParams(event) }
      ], { ...OPTS, logged: true })
      return deliveries
    },

    /**
     * Moves a delivery to its next due time: the new row first, then the old one goes, so a crash
     * in between leaves the delivery twice (sent twice, at least once), never not at all.
     */
    async reschedule (row: QueueRow, dueAt: Date, attempt: number, firstAttemptAt: Date | null): Promise<void> {
      const next: QueueRow = { ...row, slot: slotOf(dueAt.getTime()), dueAt, attempt, firstAttemptAt }
      await client.execute(Q.insert, insertParams(next), OPTS)
      await client.execute(Q.delete, deleteParams(row), OPTS)
    },

    async remove (row: QueueRow): Promise<void> {
      await client.execute(Q.delete, deleteParams(row), OPTS)
    },

    async cursor (shard: number): Promise<number | null> {
      const row = (await client.execute(Q.cursor, [shard], OPTS)).first()
      return row ? Number(row['slot']) : null
    },

    async setCursor (shard: number, slot: number): Promise<void> {
      await client.execute(Q.setCursor, [shard, slot], OPTS)
    }
  }
}
export type Queue = ReturnType<typeof createQueue>

export { UNFANNED }
