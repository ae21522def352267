import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { scopedKeyOf } from '@shortwave/common/link-repository'
import { requireCaller } from '../caller.ts'
import type { DomainService } from '../domain-service.ts'
import type { LinkService } from '../link-service.ts'
import type { StatsService } from '../link-stats.ts'
import type { QuotaPolicy } from '../quota.ts'
import { ErrorResponses, KeyParams } from '../schemas.ts'
import { limitAsNumber } from './links.ts'
import { DomainQuery } from '../schemas.ts'
import { LinkStatsQuery, OwnerStatsBody, OwnerStatsQuery, StatsBody, StatsPurged, toStatsBody } from '../stats-schemas.ts'

// Where clicks come from (link-stats.ts says how each query is served). A link's statistics are
// public to anyone who knows its key, like the link; an owner's are the caller's own; a purge
// is for the link's owner or an admin, like a delete.

export interface StatsRoutesOptions {
  links: Pick<LinkService, 'readableLink' | 'purgeableLink'>
  stats: StatsService
  quotas: Record<'read' | 'delete', QuotaPolicy>
  domains: Pick<DomainService, 'domainOf'>
}

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]

const statsRoutes: FastifyPluginAsyncTypebox<StatsRoutesOptions> = async (app, opts) => {
  const { links, stats, quotas, domains } = opts

  // No key is needed to read a link's statistics, but a bad one is refused like everywhere else.
  app.addHook('onRequest', app.identifyCaller)

  app.get('/api/v1/links/:key/stats', {
    onRequest: quotas.read.chargeOne,
    preValidation: limitAsNumber,
    schema: {
      summary: 'Clicks of a link: per UTC day, or by referrer, country, device, browser, OS or UTM tag',
      description: 'HEAD requests are not clicks; known bots and link unfurlers are counted apart (botClicks) and have no dimensions. ' +
        'For every `by`, the rows add up to `clicks`. Clicks appear within about 10 seconds. No address or user agent is stored: ' +
        'unique visitors are estimated from a hash salted with a secret that changes every UTC day and is never written to disk.',
      tags: ['stats'],
      params: KeyParams,
      querystring: LinkStatsQuery,
      response: { 200: StatsBody, ...ErrorResponses }
    }
  }, async (request) => {
    const { domain: host, ...query } = request.query
    const link = await links.readableLink(request.params.key, request.caller ?? null, await domains.domainOf(host, 'query'))
    return toStatsBody(request.params.key, await stats.link(scopedKeyOf(link), link.createdAt, query))
  })

  app.delete('/api/v1/links/:key/stats', {
    onRequest: [requireCaller('purge statistics'), quotas.delete.chargeOne],
    schema: {
      summary: 'Purge a link\'s statistics',
      description: 'Only the API key that created the link, or an admin key. Its clicks, their dimensions and its unique visitors are deleted ' +
        'and taken off its owner\'s totals (GET /api/v1/stats); the link itself stays.',
      tags: ['stats'],
      security: withKey,
      params: KeyParams,
      querystring: DomainQuery,
      response: { 204: StatsPurged, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const link = await links.purgeableLink(request.params.key, request.caller!, await domains.domainOf(request.query.domain, 'query'))
    await stats.purge(scopedKeyOf(link), link.createdAt, link.owner)
    return reply.code(204).send(null)
  })

  app.get('/api/v1/stats', {
    onRequest: [requireCaller('read your statistics'), quotas.read.chargeOne],
    preValidation: limitAsNumber,
    schema: {
      summary: 'Clicks of all your links together: per day, per link, or by a dimension',
      description: 'The last 30 days by default. For every `by`, the rows add up to `clicks`.',
      tags: ['stats'],
      security: withKey,
      querystring: OwnerStatsQuery,
      response: { 200: OwnerStatsBody, ...ErrorResponses }
    }
  }, async (request) => stats.owner(request.caller!.id, request.query))
}

export default statsRoutes
