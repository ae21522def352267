import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { DomainService } from '../domain-service.ts'
import type { LinkService } from '../link-service.ts'
import type { QuotaPolicy } from '../quota.ts'
import { QR_CONTENT_TYPE, renderQr } from '../qr.ts'
import { ErrorResponses, KeyParams, QrImage, QrQuery } from '../schemas.ts'

// A read-only view of a link: a QR code of its short URL. Like the link's metadata, it is public
// to anyone who knows the key (its statistics: routes/stats.ts).

export interface LinkViewRoutesOptions {
  links: LinkService
  quotas: Record<'read' | 'qr', QuotaPolicy>
  domains: Pick<DomainService, 'domainOf' | 'baseUrlOf'>
}

const linkViewRoutes: FastifyPluginAsyncTypebox<LinkViewRoutesOptions> = async (app, opts) => {
  const { links, quotas, domains } = opts

  // No key is needed here, but a bad one is refused like everywhere else in the API.
  app.addHook('onRequest', app.identifyCaller)

  app.get('/api/v1/links/:key/qr', {
    // Rendering costs more than a read: the rate of the writes, counted apart.
    onRequest: quotas.qr.chargeOne,
    schema: {
      summary: 'QR code of the short URL',
      tags: ['links'],
      params: KeyParams,
      querystring: QrQuery,
      response: { 200: QrImage, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const { key, domain } = await links.findLink(request.params.key, await domains.domainOf(request.query.domain, 'query'))
    const format = request.query.format ?? 'svg'
    const image = await renderQr(`${domains.baseUrlOf(domain)}/${key}`, format)
    // A key's short URL never changes, but the link may be deleted: cached briefly, not forever.
    return reply.type(QR_CONTENT_TYPE[format]).header('cache-control', 'public, max-age=300').send(image)
  })
}

export default linkViewRoutes
