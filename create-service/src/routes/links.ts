import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { authenticate } from '../caller.ts'
import type { LinkService } from '../link-service.ts'
import { CreateLinkBody, ErrorBody, KeyParams, LinkBody, LinkWithClicksBody, toLinkBody, toLinkWithClicksBody } from '../schemas.ts'

export interface LinkRoutesOptions {
  links: LinkService
  /** Without a trailing slash. */
  publicBaseUrl: string
  allowAnonymous: boolean
  rateLimit: { max: number, timeWindow: number }
}

const errors = { '4xx': ErrorBody, 503: ErrorBody }

const linkRoutes: FastifyPluginAsyncTypebox<LinkRoutesOptions> = async (app, opts) => {
  const { links, publicBaseUrl } = opts

  app.post('/api/v1/links', {
    config: { rateLimit: opts.rateLimit },
    onRequest: authenticate(opts.allowAnonymous),
    schema: { body: CreateLinkBody, response: { 201: LinkBody, ...errors } }
  }, async (request, reply) => {
    const link = await links.createLink({ ...request.body, owner: request.owner })
    reply.header('location', `${publicBaseUrl}/api/v1/links/${link.key}`)
    return reply.code(201).send(toLinkBody(link, publicBaseUrl))
  })

  app.get('/api/v1/links/:key', {
    // Reading is cheap and often scripted; it gets more room than creating.
    config: { rateLimit: { ...opts.rateLimit, max: opts.rateLimit.max * 10 } },
    schema: { params: KeyParams, response: { 200: LinkWithClicksBody, ...errors } }
  }, async (request) => {
    const link = await links.getLink(request.params.key)
    return toLinkWithClicksBody(link, publicBaseUrl)
  })
}

export default linkRoutes
