import cassandra from 'cassandra-driver'
import type { EventType } from './webhook-outbox.ts'

// The webhooks and their delivery log in Cassandra (schema-webhooks.ts): what create-service's
// /api/v1/webhooks and the event-worker share. Every value is a bound parameter (invariant 3).

/** The scope of an admin's webhook: every link. */
export const ALL_LINKS = '*'

export interface Webhook {
  id: string
  /** The API key id that registered it. */
  creator: string
  /** The owner whose links it covers, or ALL_LINKS. */
  scope: string
  url: string
  events: EventType[]
  secret: string
  enabled: boolean
  createdAt: Date
  disabledAt: Date | null
  disabledReason: string | null
  failingSince: Date | null
}

export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'gave_up', 'refused', 'endpoint_disabled'] as const
export type DeliveryOutcome = typeof DELIVERY_OUTCOMES[number]

export interface DeliveryAttempt {
  at: Date
  eventId: string
  eventType: string
  /** 1 for the first attempt. */
  attempt: number
  outcome: DeliveryOutcome
  statusCode: number | null
  error: string | null
  durationMs: number
}

const OPTS = { prepare: true, isIdempotent: true } as const

const Q = {
  insert: `INSERT INTO webhooks (id, creator, scope, url, events, secret, enabled, created_at)
    VALUES (?, ?, ?, ?, ?, ?, true, ?)`,
  byCreatorInsert: 'INSERT INTO webhooks_by_creator (creator, id) VALUES (?, ?)',
  byCreatorDelete: 'DELETE FROM webhooks_by_creator WHERE creator = ? AND id = ?',
  byCreator: 'SELECT id FROM webhooks_by_creator WHERE creator = ? LIMIT ?',
  subscribe: 'INSERT INTO webhook_subscriptions (event_type, scope, webhook_id) VALUES (?, ?, ?)',
  unsubscribe: 'DELETE FROM webhook_subscriptions WHERE event_type = ? AND scope = ? AND webhook_id = ?',
  subscribers: 'SELECT webhook_id FROM webhook_subscriptions WHERE event_type = ? AND scope IN ?',
  anySubscriber: 'SELECT webhook_id FROM webhook_subscriptions WHERE event_type = ? LIMIT 1',
  subscribedScopes: 'SELECT scope FROM webhook_subscriptions WHERE event_type = ?',
  find: `SELECT id, creator, scope, url, events, secret, enabled, created_at, disabled_at, disabled_reason, failing_since
    FROM webhooks WHERE id = ?`,
  delete: 'DELETE FROM webhooks WHERE id = ?',
  enable: 'UPDATE webhooks SET enabled = true, disabled_at = null, disabled_reason = null, failing_since = null WHERE id = ?',
  disable: 'UPDATE webhooks SET enabled = false, disabled_at = ?, disabled_reason = ? WHERE id = ?',
  failing: 'UPDATE webhooks SET failing_since = ? WHERE id = ?',
  // Only on a webhook that still exists: a late worker must not bring a deleted one back as a stub.
  healthy: 'UPDATE webhooks SET failing_since = null WHERE id = ? IF EXISTS',
  logAttempt: `INSERT INTO webhook_deliveries
    (webhook_id, day, at, event_id, event_type, attempt, outcome, status_code, error, duration_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  attempts: `SELECT at, event_id, event_type, attempt, outcome, status_code, error, duration_ms
    FROM webhook_deliveries WHERE webhook_id = ? AND day = ? LIMIT ?`
}

/** Days of the log a listing reads back (the table's TTL keeps 7). */
export const DELIVERY_LOG_DAYS = 7

function toWebhook (row: cassandra.types.Row): Webhook {
  return {
    id: row['id'] as string,
    creator: row['creator'] as string,
    scope: row['scope'] as string,
    url: row['url'] as string,
    events: [...(row['events'] as EventType[] | null) ?? []].sort(),
    secret: row['secret'] as string,
    enabled: row['enabled'] === true,
    createdAt: row['created_at'] as Date,
    disabledAt: (row['disabled_at'] as Date | null) ?? null,
    disabledReason: (row['disabled_reason'] as string | null) ?? null,
    failingSince: (row['failing_since'] as Date | null) ?? null
  }
}

const dayOf = (at: Date): cassandra.types.LocalDate => cassandra.types.LocalDate.fromDate(at)

export function createWebhookStore (client: cassandra.Client) {
  const find = async (id: string): Promise<Webhook | null> => {
    const row = (await client.execute(Q.find, [id], OPTS)).first()
    return row ? toWebhook(row) : null
  }

  return {
    find,

    /**
     * Stores a new webhook: the indexes first, the webhook row last, so a webhook that exists is
     * always listed and subscribed (an index entry whose row never got written is skipped).
     */
    async create (webhook: Webhook): Promise<void> {
      await client.execute(Q.byCreatorInsert, [webhook.creator, webhook.id], OPTS)
      const subscribe = (type: EventType) => client.execute(Q.subscribe, [type, webhook.scope, webhook.id], OPTS)
      await Promise.all(webhook.events.map(subscribe))
      await client.execute(Q.insert, [
        webhook.id, webhook.creator, webhook.scope, webhook.url, webhook.events, webhook.secret, webhook.createdAt
      ], OPTS)
    },

    /** The row first: from then on nothing is delivered to it; the indexes after. */
    async remove (webhook: Webhook): Promise<void> {
      await client.execute(Q.delete, [webhook.id], OPTS)
      const unsubscribe = (type: EventType) => client.execute(Q.unsubscribe, [type, webhook.scope, webhook.id], OPTS)
      await Promise.all(webhook.events.map(unsubscribe))
      await client.execute(Q.byCreatorDelete, [webhook.creator, webhook.id], OPTS)
    },

    /** The webhooks an API key registered, oldest id first; `max` ids at most. */
    async listByCreator (creator: string, max: number): Promise<Webhook[]> {
      const ids = (await client.execute(Q.byCreator, [creator, max], OPTS)).rows.map((row) => row['id'] as string)
      const found = await Promise.all(ids.map(find))
      return found.filter((webhook): webhook is Webhook => webhook !== null)
    },

    /** The ids of the webhooks that want this event about a link of `owner` (null: anonymous). */
    async subscribers (type: EventType, owner: string | null): Promise<string[]> {
      const scopes = owner === null ? [ALL_LINKS] : [owner, ALL_LINKS]
      const rows = (await client.execute(Q.subscribers, [type, scopes], OPTS)).rows
      return rows.map((row) => row['webhook_id'] as string)
    },

    /** Whether any webhook at all wants events of this type (the key-worker asks before writing click events). */
    /** The scopes (API key ids, or ALL_LINKS) some webhook of which wants events of this type: one partition. */
    async subscribedScopes (type: EventType): Promise<Set<string>> {
      const result = await client.execute(Q.subscribedScopes, [type], { ...OPTS, fetchSize: 5000 })
      const scopes = new Set<string>()
      for await (const row of result) scopes.add(row['scope'] as string)
      return scopes
    },

    async anySubscriber (type: EventType): Promise<boolean> {
      return (await client.execute(Q.anySubscriber, [type], OPTS)).rowLength > 0
    },

    async enable (id: string): Promise<void> {
      await client.execute(Q.enable, [id], OPTS)
    },

    async disable (id: string, at: Date, reason: string): Promise<void> {
      await client.execute(Q.disable, [at, reason, id], OPTS)
    },

    async markFailing (id: string, since: Date): Promise<void> {
      await client.execute(Q.failing, [since, id], OPTS)
    },

    async markHealthy (id: string): Promise<void> {
      await client.execute(Q.healthy, [id], { prepare: true })
    },

    async logAttempt (webhookId: string, attempt: DeliveryAttempt): Promise<void> {
      await client.execute(Q.logAttempt, [
        webhookId, dayOf(attempt.at), cassandra.types.TimeUuid.fromDate(attempt.at), attempt.eventId, attempt.eventType,
        attempt.attempt, attempt.outcome, attempt.statusCode, attempt.error, attempt.durationMs
      ], { prepare: true })
    },

    /** The latest attempts, newest first, from today back DELIVERY_LOG_DAYS days; `limit` at most. */
    async attempts (webhookId: string, limit: number, now = new Date()): Promise<DeliveryAttempt[]> {
      const found: DeliveryAttempt[] = []
      for (let back = 0; back < DELIVERY_LOG_DAYS && found.length < limit; back++) {
        const day = dayOf(new Date(now.getTime() - back * 86_400_000))
        const rows = (await client.execute(Q.attempts, [webhookId, day, limit - found.length], OPTS)).rows
        for (const row of rows) {
          found.push({
            at: (row['at'] as cassandra.types.TimeUuid).getDate(),
            eventId: row['event_id'] as string,
            eventType: row['event_type'] as string,
            attempt: row['attempt'] as number,
            outcome: row['outcome'] as DeliveryOutcome,
            statusCode: (row['status_code'] as number | null) ?? null,
            error: (row['error'] as string | null) ?? null,
            durationMs: row['duration_ms'] as number
          })
        }
      }
      return found
    }
  }
}
export type WebhookStore = ReturnType<typeof createWebhookStore>
