import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  ApiKeyBody, ApiKeyInputBody, ApiKeyListBody, ApiKeyParams, ApiKeyPatchBody, ApiKeyRevoked, CreatedApiKeyBody, MeBody,
  toApiKeyBody, toMeBody
} from '../api-key-schemas.ts'
import type { ApiKeyService } from '../api-key-service.ts'
import { requireAdmin, requireCaller } from '../caller.ts'
import type { QuotaPolicy } from '../quota.ts'
import { ErrorResponses } from '../schemas.ts'

// /api/v1/me: the key a request carries (how a client checks a key before using it).
// /api/v1/keys: API keys managed by an admin key, as `npm run apikey` does; secrets are shown once,
// in the 201 that creates them, and never listed.

export interface ApiKeyRoutesOptions {
  apiKeys: ApiKeyService
  quotas: Record<'read' | 'edit', QuotaPolicy>
}

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]

const apiKeyRoutes: FastifyPluginAsyncTypebox<ApiKeyRoutesOptions> = async (app, opts) => {
  const { apiKeys, quotas } = opts
  app.addHook('onRequest', app.identifyCaller)
  const admin = [requireCaller('manage API keys'), requireAdmin('manage API keys')]

  app.get('/api/v1/me', {
    onRequest: [requireCaller('read /api/v1/me'), quotas.read.chargeOne],
    schema: {
      summary: 'The API key of this request',
      description: 'A key that is unknown, malformed or revoked gets 401, like on every route.',
      tags: ['api keys'],
      security: withKey,
      response: { 200: MeBody, ...ErrorResponses }
    }
  }, async (request) => toMeBody(request.caller!))

  app.get('/api/v1/keys', {
    onRequest: [...admin, quotas.read.chargeOne],
    schema: {
      summary: 'List the API keys',
      description: 'Admin keys only. Every key, revoked ones included, oldest first; never a secret.',
      tags: ['api keys'],
      security: withKey,
      response: { 200: ApiKeyListBody, ...ErrorResponses }
    }
  }, async () => ({ keys: (await apiKeys.list()).map(toApiKeyBody) }))

  app.post('/api/v1/keys', {
    onRequest: [...admin, quotas.edit.chargeOne],
    schema: {
      summary: 'Create an API key',
      description: 'Admin keys only. The answer is the only place the secret ever appears; only its hash is stored.',
      tags: ['api keys'],
      security: withKey,
      body: ApiKeyInputBody,
      response: { 201: CreatedApiKeyBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { key, secret } = await apiKeys.create(request.body)
    return reply.code(201).send({ ...toApiKeyBody(key), secret })
  })

  app.patch('/api/v1/keys/:id', {
    onRequest: [...admin, quotas.edit.chargeOne],
    schema: {
      summary: 'Change an API key\'s rate',
      description: 'Admin keys only. Applies at once on the replica that answers, on the others within API_KEY_CACHE_TTL_MS.',
      tags: ['api keys'],
      security: withKey,
      params: ApiKeyParams,
      body: ApiKeyPatchBody,
      response: { 200: ApiKeyBody, ...ErrorResponses }
    }
  }, async (request) => toApiKeyBody(await apiKeys.setRate(request.params.id, request.body.rate)))

  app.delete('/api/v1/keys/:id', {
    onRequest: [...admin, quotas.edit.chargeOne],
    schema: {
      summary: 'Revoke an API key',
      description: 'Admin keys only. Revoking a revoked key is a 204 too; the key the request carries cannot be revoked (409). ' +
        'The key\'s links stay, owned by its id.',
      tags: ['api keys'],
      security: withKey,
      params: ApiKeyParams,
      response: { 204: ApiKeyRevoked, ...ErrorResponses }
    }
  }, async (request, reply) => {
    await apiKeys.revoke(request.params.id, request.caller!)
    return reply.code(204).send(null)
  })
}

export default apiKeyRoutes
