import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { requireCaller } from '../caller.ts'
import type { QuotaPolicy } from '../quota.ts'
import { ErrorResponses } from '../schemas.ts'
import {
  CreatedWebhookBody, DeliveriesBody, DeliveriesQuery, toDeliveryBody, toWebhookBody, WebhookBody, WebhookDeleted,
  WebhookInputBody, WebhookListBody, WebhookParams, WebhookPatchBody
} from '../webhook-schemas.ts'
import type { WebhookService } from '../webhook-service.ts'
import { limitAsNumber } from './links.ts'

// /api/v1/webhooks: every route needs an API key, and a webhook is seen only by the key that
// registered it (and admins). Deliveries are the event-worker's (event-worker/).

export interface WebhookRoutesOptions {
  webhooks: WebhookService
  quotas: Record<'read' | 'edit', QuotaPolicy>
}

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]
const DELIVERIES_DEFAULT = 50

const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = async (app, opts) => {
  const { webhooks, quotas } = opts
  app.addHook('onRequest', app.identifyCaller)
  const reads = [requireCaller('manage webhooks'), quotas.read.chargeOne]
  const writes = [requireCaller('manage webhooks'), quotas.edit.chargeOne]

  app.post('/api/v1/webhooks', {
    onRequest: writes,
    schema: {
      summary: 'Register a webhook',
      description: 'Events about the API key\'s links (an admin key: every link) are POSTed to the URL, signed per the ' +
        'Standard Webhooks spec with the secret, which this answer alone shows. The URL obeys the links\' URL policy.',
      tags: ['webhooks'],
      security: withKey,
      body: WebhookInputBody,
      response: { 201: CreatedWebhookBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const webhook = await webhooks.register(request.body, request.caller!)
    reply.header('location', `/api/v1/webhooks/${webhook.id}`)
    return reply.code(201).send({ ...toWebhookBody(webhook), secret: webhook.secret })
  })

  app.get('/api/v1/webhooks', {
    onRequest: reads,
    schema: { summary: 'List your webhooks', tags: ['webhooks'], security: withKey, response: { 200: WebhookListBody, ...ErrorResponses } }
  }, async (request) => ({ webhooks: (await webhooks.list(request.caller!)).map(toWebhookBody) }))

  app.get('/api/v1/webhooks/:id', {
    onRequest: reads,
    schema: {
      summary: 'Read a webhook', tags: ['webhooks'], security: withKey, params: WebhookParams, response: { 200: WebhookBody, ...ErrorResponses }
    }
  }, async (request) => toWebhookBody(await webhooks.get(request.params.id, request.caller!)))

  app.patch('/api/v1/webhooks/:id', {
    onRequest: writes,
    schema: {
      summary: 'Enable or disable a webhook',
      description: 'An endpoint that kept failing is disabled by the worker; {"enabled": true} turns it back on.',
      tags: ['webhooks'],
      security: withKey,
      params: WebhookParams,
      body: WebhookPatchBody,
      response: { 200: WebhookBody, ...ErrorResponses }
    }
  }, async (request) => {
    const webhook = await webhooks.setEnabled(request.params.id, request.body.enabled, request.caller!)
    return toWebhookBody(webhook)
  })

  app.delete('/api/v1/webhooks/:id', {
    onRequest: writes,
    schema: {
      summary: 'Delete a webhook', tags: ['webhooks'], security: withKey, params: WebhookParams, response: { 204: WebhookDeleted, ...ErrorResponses }
    }
  }, async (request, reply) => {
    await webhooks.remove(request.params.id, request.caller!)
    return reply.code(204).send(null)
  })

  app.get('/api/v1/webhooks/:id/deliveries', {
    onRequest: reads,
    preValidation: limitAsNumber,
    schema: {
      summary: 'The delivery log of a webhook',
      description: 'Each attempt: when, the event, the receiver\'s status or the error, how long it took. Kept 7 days.',
      tags: ['webhooks'],
      security: withKey,
      params: WebhookParams,
      querystring: DeliveriesQuery,
      response: { 200: DeliveriesBody, ...ErrorResponses }
    }
  }, async (request) => {
    const limit = request.query.limit ?? DELIVERIES_DEFAULT
    const attempts = await webhooks.deliveries(request.params.id, request.caller!, limit)
    return { deliveries: attempts.map(toDeliveryBody) }
  })
}

export default webhookRoutes
