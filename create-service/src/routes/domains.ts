import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { requireAdmin, requireCaller } from '../caller.ts'
import { DomainBody, DomainDeleted, DomainInputBody, DomainListBody, DomainParams, toDomainBody } from '../domain-schemas.ts'
import type { DomainService } from '../domain-service.ts'
import type { QuotaPolicy } from '../quota.ts'
import { ErrorResponses } from '../schemas.ts'

// /api/v1/domains: the custom domains links may be served on. Registering and removing one is an
// admin's; the list is public, like the links' metadata (a client needs the hosts to create links).

export interface DomainRoutesOptions {
  domains: Pick<DomainService, 'register' | 'list' | 'remove'>
  quotas: Record<'read' | 'edit', QuotaPolicy>
}

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]

const adminOnly = requireAdmin('register or remove domains')

const domainRoutes: FastifyPluginAsyncTypebox<DomainRoutesOptions> = async (app, opts) => {
  const { domains, quotas } = opts
  app.addHook('onRequest', app.identifyCaller)

  app.post('/api/v1/domains', {
    onRequest: [requireCaller('register domains'), adminOnly, quotas.edit.chargeOne],
    schema: {
      summary: 'Register a custom domain',
      description: 'Admin keys only. Point the host\'s DNS at Shortwave\'s edge; every redirect replica serves it within seconds.',
      tags: ['domains'],
      security: withKey,
      body: DomainInputBody,
      response: { 201: DomainBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const domain = await domains.register(request.body)
    return reply.code(201).send(toDomainBody(domain))
  })

  app.get('/api/v1/domains', {
    onRequest: quotas.read.chargeOne,
    schema: {
      summary: 'List the domains',
      tags: ['domains'],
      response: { 200: DomainListBody, ...ErrorResponses }
    }
  }, async () => ({ domains: (await domains.list()).map(toDomainBody) }))

  app.delete('/api/v1/domains/:host', {
    onRequest: [requireCaller('remove domains'), adminOnly, quotas.edit.chargeOne],
    schema: {
      summary: 'Remove a custom domain',
      description: 'Admin keys only. The default domain cannot be removed (409). The domain\'s links are kept but not served.',
      tags: ['domains'],
      security: withKey,
      params: DomainParams,
      response: { 204: DomainDeleted, ...ErrorResponses }
    }
  }, async (request, reply) => {
    await domains.remove(request.params.host)
    return reply.code(204).send(null)
  })
}

export default domainRoutes
