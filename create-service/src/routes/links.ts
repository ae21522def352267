import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RateLimitedError } from '@shortwave/common/errors'
import type { FastifyError, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import type { Static } from 'typebox'
import { createBatch } from '../batch.ts'
import { requireCaller } from '../caller.ts'
import type { DomainService } from '../domain-service.ts'
import { etagOf } from '../etag.ts'
import { idempotencyHooks, type IdempotencyStore } from '../idempotency.ts'
import type { LinkService } from '../link-service.ts'
import { describeWait, type QuotaPolicy } from '../quota.ts'
import {
  BATCH_MAX, BatchBody, BatchResultBody, CreateHeaders, CreateLinkBody, Deleted, DomainQuery, EditLinkBody,
  ErrorResponses,
  HistoryBody, HistoryQuery, IfMatchHeaders, KeyParams, LinkBody, LinkPageBody, LinkWithClicksBody, ListQuery,
  PAGE_DEFAULT, toHistoryBody, toLinkBody, toLinkWithClicksBody, toListedBody
} from '../schemas.ts'

export interface LinkRoutesOptions {
  links: LinkService
  /** Without a trailing slash. */
  publicBaseUrl: string
  allowAnonymous: boolean
  /** `create` is shared by single and batch creates (one unit per link). */
  quotas: Record<'create' | 'read' | 'edit' | 'delete', QuotaPolicy>
  idempotency: IdempotencyStore
  /** `?domain=` → the stored domain, and the host and short URL base of a link's domain. */
  domains: Pick<DomainService, 'domainOf' | 'hostOf' | 'baseUrlOf'>
}

// Links of a batch created at once: enough to hide Cassandra's latency, few enough to leave
// room for other requests.
const BATCH_CONCURRENCY = 8
// How long a duplicate of an Idempotency-Key request waits for the first one's answer.
const IDEMPOTENCY_WAIT_MS = 5000

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]
const withOrWithoutKey: Array<Record<string, string[]>> = [{}, { apiKey: [] }]

// Nothing else in this API coerces types, but a query string is text: limit=10 means 10.
export async function limitAsNumber (request: FastifyRequest): Promise<void> {
  const query = request.query as Record<string, unknown>
  if (typeof query['limit'] === 'string' && /^[0-9]{1,9}$/.test(query['limit'])) query['limit'] = Number(query['limit'])
}

type ItemValidator = ((item: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null }

const linkRoutes: FastifyPluginAsyncTypebox<LinkRoutesOptions> = async (app, opts) => {
  const { links, publicBaseUrl, quotas, domains } = opts
  const mayCreate = opts.allowAnonymous ? [] : [requireCaller('create links')]
  const single = idempotencyHooks({ store: opts.idempotency, operation: 'POST /api/v1/links', waitMs: IDEMPOTENCY_WAIT_MS })
  const batch = idempotencyHooks({ store: opts.idempotency, operation: 'POST /api/v1/links/batch', waitMs: IDEMPOTENCY_WAIT_MS })
  const ownerOf = (request: FastifyRequest): string | null => request.caller?.id ?? null
  const present = (link: Parameters<typeof toLinkBody>[0]) => toLinkBody(link, domains)
  const domainOf = (request: FastifyRequest): Promise<string> =>
    domains.domainOf((request.query as { domain?: string } | undefined)?.domain, 'query')
  // The API's own address of a link: ?domain= names a domain other than the default one.
  const apiPathOf = (link: { key: string, domain?: string }): string =>
    `${publicBaseUrl}/api/v1/links/${link.key}${link.domain ? `?domain=${encodeURIComponent(link.domain)}` : ''}`

  // Batch items are checked by the very validator (and messages) of a single create.
  let validateItem: ItemValidator | undefined
  const itemValidator = (): ItemValidator => {
    validateItem ??= app.validatorCompiler!({ schema: CreateLinkBody, method: 'POST', url: '/api/v1/links', httpPart: 'body' }) as ItemValidator
    return validateItem
  }

  app.decorateRequest('idempotency', null)
  app.addHook('onRequest', app.identifyCaller)

  app.post('/api/v1/links', {
    // Counted before the body is read, so a flood costs little.
    onRequest: [...mayCreate, quotas.create.chargeOne],
    preHandler: single.preHandler,
    onSend: single.onSend,
    schema: {
      summary: 'Shorten a URL',
      description: 'Owned by the API key when one is sent. With an Idempotency-Key, a retry gets the first answer again.',
      tags: ['links'],
      security: withOrWithoutKey,
      headers: CreateHeaders,
      body: CreateLinkBody,
      response: { 201: LinkBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const link = await links.createLink({ ...request.body, owner: ownerOf(request) })
    reply.header('location', apiPathOf(link)).header('etag', etagOf({ version: 0 }))
    return reply.code(201).send(present(link))
  })

  app.post('/api/v1/links/batch', {
    onRequest: mayCreate,
    preHandler: batch.preHandler,
    onSend: batch.onSend,
    schema: {
      summary: `Shorten up to ${BATCH_MAX} URLs`,
      description: 'One result per link, in order: 201 with the link, or the error that link alone would get. Each link counts against the rate limit.',
      tags: ['links'],
      security: withOrWithoutKey,
      headers: CreateHeaders,
      body: BatchBody,
      response: { 200: BatchResultBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const items = request.body.links
    const { allowed, retryAfterSeconds } = await quotas.create.charge(request, reply, items.length)
    if (allowed === 0) throw new RateLimitedError(describeWait(retryAfterSeconds))
    const failures: FastifyError[] = []
    const results = await createBatch(items, {
      validate: itemValidator(),
      create: (item) => links.createLink({ ...item as Static<typeof CreateLinkBody>, owner: ownerOf(request) }),
      present,
      allowed,
      retryAfter: describeWait(retryAfterSeconds),
      concurrency: BATCH_CONCURRENCY,
      onFailure: (error) => { failures.push(error) }
    })
    // Nothing could be stored (Cassandra down): the whole request failed, and says so.
    if (results.every((r) => r.status >= 500)) throw failures[0]
    return { results }
  })

  app.get('/api/v1/links', {
    onRequest: [requireCaller('list your links'), quotas.read.chargeOne],
    preValidation: limitAsNumber,
    schema: {
      summary: 'List your links: by tag, by words, newest, oldest or most clicked first',
      description: 'The links the API key created (an admin key too lists its own), on every domain, or on the one domain ' +
        'names. Without new parameters: newest first, expired links left out, as before. The cursor stays valid while ' +
        'links are created and deleted; with sort=clicks, a link whose clicks change between two pages may move past the cursor.',
      tags: ['links'],
      security: withKey,
      querystring: ListQuery,
      response: { 200: LinkPageBody, ...ErrorResponses }
    }
  }, async (request) => {
    const { domain: host, limit, ...query } = request.query
    // Without domain=, every domain's links (a filter left out filters nothing).
    const domain = host === undefined ? {} : { domain: await domains.domainOf(host, 'query') }
    const page = await links.listLinks({ ...query, owner: request.caller!.id, ...domain, limit: limit ?? PAGE_DEFAULT })
    return { links: page.links.map((link) => toListedBody(link, domains)), nextCursor: page.nextCursor }
  })

  app.get('/api/v1/links/:key', {
    onRequest: quotas.read.chargeOne,
    schema: {
      summary: 'Read a link',
      tags: ['links'],
      params: KeyParams,
      querystring: DomainQuery,
      response: { 200: LinkWithClicksBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const link = await links.getLink(request.params.key, request.caller ?? null, await domainOf(request))
    reply.header('etag', etagOf(link))
    return toLinkWithClicksBody(link, domains)
  })

  app.patch('/api/v1/links/:key', {
    onRequest: [requireCaller('edit links'), quotas.edit.chargeOne],
    schema: {
      summary: 'Edit a link',
      description: 'Only the API key that created the link, or an admin key. Every field is optional; the ones sent replace ' +
        'the link\'s, all or none. With If-Match, applies only to the version named (412 otherwise). Every redirect ' +
        'serves the new state within 5 seconds; clicks stay.',
      tags: ['links'],
      security: withKey,
      params: KeyParams,
      querystring: DomainQuery,
      headers: IfMatchHeaders,
      body: EditLinkBody,
      response: { 200: LinkWithClicksBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const domain = await domainOf(request)
    const link = await links.editLink(request.params.key, request.body, request.caller!, request.headers['if-match'], domain)
    reply.header('etag', etagOf(link))
    return toLinkWithClicksBody(link, domains)
  })

  app.get('/api/v1/links/:key/history', {
    onRequest: [requireCaller('read the history of links'), quotas.read.chargeOne],
    preValidation: limitAsNumber,
    schema: {
      summary: 'Edits of a link, newest first',
      description: 'Only the API key that created the link, or an admin key.',
      tags: ['links'],
      security: withKey,
      params: KeyParams,
      querystring: HistoryQuery,
      response: { 200: HistoryBody, ...ErrorResponses }
    }
  }, async (request) => {
    const { key } = request.params
    const { cursor, limit } = request.query
    const page = await links.listEdits(key, request.caller!, cursor, limit ?? PAGE_DEFAULT, await domainOf(request))
    return toHistoryBody(key, page)
  })

  app.delete('/api/v1/links/:key', {
    onRequest: [requireCaller('delete links'), quotas.delete.chargeOne],
    schema: {
      summary: 'Delete a link',
      description: 'Only the API key that created the link, or an admin key. The key is never handed out again.',
      tags: ['links'],
      security: withKey,
      params: KeyParams,
      querystring: DomainQuery,
      headers: IfMatchHeaders,
      response: { 204: Deleted, ...ErrorResponses }
    }
  }, async (request, reply) => {
    await links.deleteLink(request.params.key, request.caller!, request.headers['if-match'], await domainOf(request))
    return reply.code(204).send(null)
  })
}

export default linkRoutes
