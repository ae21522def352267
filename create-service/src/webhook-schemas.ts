import { URL_MAX_LENGTH, URL_SCHEME_PATTERN } from '@shortwave/common/url-policy'
import { EVENT_TYPES } from '@shortwave/common/webhook-outbox'
import { SECRET_PREFIX } from '@shortwave/common/webhook-secret'
import { ALL_LINKS, DELIVERY_OUTCOMES, type DeliveryAttempt, type Webhook } from '@shortwave/common/webhook-store'
import { Type, type Static } from 'typebox'

// The request and answer shapes of /api/v1/webhooks (routes/webhooks.ts); OpenAPI is built from them.

const EventTypeSchema = Type.Enum([...EVENT_TYPES], {
  description: `one of ${EVENT_TYPES.join(', ')}`
})

export const WebhookInputBody = Type.Object({
  url: Type.String({
    minLength: 1,
    maxLength: URL_MAX_LENGTH,
    pattern: URL_SCHEME_PATTERN,
    description: 'where events are POSTed: an absolute http(s) URL on a public host, checked like a link\'s target'
  }),
  events: Type.Array(EventTypeSchema, { minItems: 1, maxItems: EVENT_TYPES.length, uniqueItems: true }),
  secret: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 200,
    description: `the signing secret, "${SECRET_PREFIX}" and the base64 of 24 to 64 random bytes; generated when left out`
  }))
}, {
  additionalProperties: false,
  examples: [{ url: 'https://hooks.example/shortwave', events: ['link.created', 'link.clicked'] }]
})

export const WebhookParams = Type.Object({ id: Type.String({ maxLength: 100 }) })

export const WebhookPatchBody = Type.Object({
  enabled: Type.Boolean({ description: 'true turns deliveries back on (an endpoint disabled after failing, or by you); false pauses them' })
}, { additionalProperties: false, examples: [{ enabled: true }] })

const exampleWebhook = {
  id: 'wh_3f2a9c6d1e8b4a7f9c0d2e4f6a8b0c1d',
  url: 'https://hooks.example/shortwave',
  events: ['link.clicked', 'link.created'],
  allLinks: false,
  enabled: true,
  createdAt: '2026-12-06T03:00:00.000Z',
  disabledAt: null,
  disabledReason: null
}

const webhookFields = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  allLinks: Type.Boolean({ description: 'an admin key\'s webhook: events of every link; otherwise those of the key\'s own links' }),
  enabled: Type.Boolean(),
  createdAt: Type.String({ description: 'ISO-8601, UTC' }),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  disabledReason: Type.Union([Type.String(), Type.Null()], { description: 'why deliveries stopped: failing for too long, or its owner' })
}

export const WebhookBody = Type.Object(webhookFields, { description: 'A webhook endpoint', examples: [exampleWebhook] })

export const CreatedWebhookBody = Type.Object({
  ...webhookFields,
  secret: Type.String({ description: 'the signing secret: shown in this answer only; store it now' })
}, {
  description: 'The new webhook with its secret',
  examples: [{ ...exampleWebhook, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }]
})

export const WebhookListBody = Type.Object({ webhooks: Type.Array(WebhookBody) }, {
  description: 'The webhooks this API key registered', examples: [{ webhooks: [exampleWebhook] }]
})

export const WebhookDeleted = Type.Null({ description: 'Deleted; nothing more is delivered to it, retries included' })

export const DeliveriesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'attempts to return, 50 by default' }))
}, { additionalProperties: false })

const DeliveryBody = Type.Object({
  at: Type.String({ description: 'when the attempt ended, ISO-8601' }),
  eventId: Type.String({ description: 'the webhook-id header: the same for every attempt of one event' }),
  eventType: Type.String(),
  attempt: Type.Integer({ description: '1 for the first attempt' }),
  outcome: Type.Enum([...DELIVERY_OUTCOMES], {
    description: 'delivered (2xx); failed (retried later); gave_up (failed after 24 h of retries); refused (the target became a non-public address); endpoint_disabled (not sent)'
  }),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'the receiver\'s status; null when none came' }),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer()
})

export const DeliveriesBody = Type.Object({ deliveries: Type.Array(DeliveryBody) }, {
  description: 'The latest delivery attempts, newest first (kept 7 days)',
  examples: [{
    deliveries: [{
      at: '2026-12-06T03:00:01.120Z', eventId: 'msg_5b1d…', eventType: 'link.created', attempt: 1, outcome: 'delivered', statusCode: 200, error: null, durationMs: 84
    }]
  }]
})

export function toWebhookBody (webhook: Webhook): Static<typeof WebhookBody> {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    allLinks: webhook.scope === ALL_LINKS,
    enabled: webhook.enabled,
    createdAt: webhook.createdAt.toISOString(),
    disabledAt: webhook.disabledAt?.toISOString() ?? null,
    disabledReason: webhook.disabledReason
  }
}

export function toDeliveryBody (attempt: DeliveryAttempt): Static<typeof DeliveryBody> {
  return { ...attempt, at: attempt.at.toISOString() }
}
