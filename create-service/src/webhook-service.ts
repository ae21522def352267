import { InvalidWebhookError, TooManyWebhooksError, WebhookNotFoundError } from '@shortwave/common/errors'
import type { UrlPolicy } from '@shortwave/common/url-policy'
import type { EventType } from '@shortwave/common/webhook-outbox'
import { generateSecret, secretProblem } from '@shortwave/common/webhook-secret'
import { ALL_LINKS, type DeliveryAttempt, type Webhook, type WebhookStore } from '@shortwave/common/webhook-store'
import { randomUUID } from 'node:crypto'
import type { Caller } from './caller.ts'

// /api/v1/webhooks: an API key's endpoints for events about its links (an admin key's: every link).
// The target obeys the links' URL policy here and again at every delivery (event-worker).

/** Webhooks one API key may have: the fan-out reads them all for each event. */
export const WEBHOOKS_PER_KEY = 20

export interface RegisterWebhookInput {
  url: string
  events: EventType[]
  secret?: string
}

export interface WebhookServiceOptions {
  store: WebhookStore
  /** The links' URL policy (url-policy.ts) with the webhooks' own allowances. */
  checkUrl: UrlPolicy
  /** Told after a webhook is registered or removed (the replicas' webhook-interest.ts reloads). */
  onChange?: () => Promise<void>
  now?: () => Date
}

export function createWebhookService (opts: WebhookServiceOptions) {
  const { store } = opts
  const now = opts.now ?? (() => new Date())

  /** The webhook, if the caller registered it or is an admin; another's reads as absent. */
  async function visible (id: string, caller: Caller): Promise<Webhook> {
    const webhook = /^wh_[0-9a-f]{32}$/.test(id) ? await store.find(id) : null
    if (webhook === null || (webhook.creator !== caller.id && caller.role !== 'admin')) throw new WebhookNotFoundError(id.slice(0, 64))
    return webhook
  }

  return {
    /** Checks everything, then stores; the secret is in the answer and never again. */
    async register (input: RegisterWebhookInput, caller: Caller): Promise<Webhook> {
      const url = await opts.checkUrl(input.url)
      if (input.secret !== undefined) {
        const problem = secretProblem(input.secret)
        if (problem !== null) throw new InvalidWebhookError(problem)
      }
      const events = [...new Set(input.events)].sort()
      if (events.length === 0) throw new InvalidWebhookError('events must name at least one event type')
      if ((await store.listByCreator(caller.id, WEBHOOKS_PER_KEY)).length >= WEBHOOKS_PER_KEY) {
        throw new TooManyWebhooksError(WEBHOOKS_PER_KEY)
      }
      const webhook: Webhook = {
        id: `wh_${randomUUID().replaceAll('-', '')}`,
        creator: caller.id,
        scope: caller.role === 'admin' ? ALL_LINKS : caller.id,
        url,
        events,
        secret: input.secret ?? generateSecret(),
        enabled: true,
        createdAt: now(),
        disabledAt: null,
        disabledReason: null,
        failingSince: null
      }
      await store.create(webhook)
      await opts.onChange?.()
      return webhook
    },

    async list (caller: Caller): Promise<Webhook[]> {
      return await store.listByCreator(caller.id, WEBHOOKS_PER_KEY)
    },

    get: visible,

    async remove (id: string, caller: Caller): Promise<void> {
      await store.remove(await visible(id, caller))
      await opts.onChange?.()
    },

    /**
     * Turns deliveries back on (or off) at once. A re-enabled endpoint starts afresh: its failing
     * time is forgotten; events that came while it was disabled are not sent (they were logged).
     */
    async setEnabled (id: string, enabled: boolean, caller: Caller): Promise<Webhook> {
      const webhook = await visible(id, caller)
      const at = now()
      if (enabled) await store.enable(id)
      else await store.disable(id, at, 'disabled by its owner')
      return enabled
        ? { ...webhook, enabled, disabledAt: null, disabledReason: null, failingSince: null }
        : { ...webhook, enabled, disabledAt: at, disabledReason: 'disabled by its owner' }
    },

    async deliveries (id: string, caller: Caller, limit: number): Promise<DeliveryAttempt[]> {
      await visible(id, caller)
      return await store.attempts(id, limit, now())
    }
  }
}
export type WebhookService = ReturnType<typeof createWebhookService>
