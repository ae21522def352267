import type cassandra from 'cassandra-driver'
import { createHash, randomUUID } from 'node:crypto'

// The outbox of webhook events (schema-webhooks.ts, webhook_queue): what create-service writes
// before a link change and the key-worker after a click fold, and what the event-worker reads.

export const EVENT_TYPES = ['link.created', 'link.updated', 'link.deleted', 'link.clicked'] as const
export type EventType = typeof EVENT_TYPES[number]

/**
 * The queue's shards. Every event of one link lands in the same shard, which one worker works at
 * a time in due order: that is what keeps a link's events in order. Fixed: changing it would move
 * links between shards while their events are queued.
 */
export const QUEUE_SHARDS = 16
/** A queue partition holds one shard's minute of due times. */
export const SLOT_MS = 60_000
/** The webhook_id of an event that is not fanned out yet. */
export const UNFANNED = ''

export function shardOf (scopedKey: string): number {
  return createHash('sha1').update(scopedKey).digest().readUInt16BE(0) % QUEUE_SHARDS
}

export function slotOf (at: number): number {
  return Math.floor(at / SLOT_MS)
}

/** One event, as the outbox keeps it until it is fanned out. */
export interface OutboxEvent {
  /** `msg_…`: the webhook-id header of every delivery of it, stable across retries. */
  id: string
  type: EventType
  occurredAt: Date
  /** The link's scoped key (domains.ts). */
  scopedKey: string
  /** The API key id owning the link; null for an anonymous link (only admin webhooks see it). */
  owner: string | null
  /**
   * What the worker checks the links row against before the event goes out (the change may not
   * have been stored): an edit's resulting version; null for other types.
   */
  checkVersion: number | null
  /** The JSON body's `data`. */
  data: Record<string, unknown>
}

export function newEventId (): string {
  return `msg_${randomUUID().replaceAll('-', '')}`
}

const INSERT = `INSERT INTO webhook_queue
  (shard, slot, due_at, event_id, webhook_id, event_type, scoped_key, owner, occurred_at, check_version, payload, attempt)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`

/** The JSON a receiver gets (Standard Webhooks' recommended shape: type, timestamp, data). */
export function eventBody (event: Pick<OutboxEvent, 'type' | 'occurredAt' | 'data'>): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data })
}

export function createOutbox (client: cassandra.Client) {
  return {
    /** Writes the event durably (an idempotent insert: a retry writes the same row). */
    async record (event: OutboxEvent): Promise<void> {
      const at = event.occurredAt.getTime()
      await client.execute(INSERT, [
        shardOf(event.scopedKey), slotOf(at), event.occurredAt, event.id, UNFANNED, event.type, event.scopedKey,
        event.owner, event.occurredAt, event.checkVersion, eventBody(event)
      ], { prepare: true, isIdempotent: true })
    }
  }
}
export type Outbox = ReturnType<typeof createOutbox>
