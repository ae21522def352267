import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { canBeKey } from '@shortwave/common/keys'
import { Type } from 'typebox'
import { isBot } from '../bot-detector.ts'
import { cacheControlFor, type RedirectStatus } from '../cache-control.ts'
import type { LinkResolver, ResolvedLink } from '../link-resolver.ts'
import type { RedirectOutcomes } from '../metrics.ts'
import { ErrorBody, NOT_A_KEY, sendNotFound } from '../not-found.ts'

export interface RedirectRoutesOptions {
  resolver: LinkResolver
  status: RedirectStatus
  permanentMaxAgeSeconds: number
  /** Tallied here, read by /metrics (shortwave_redirects_total). */
  outcomes: RedirectOutcomes
}

const NotFound = {
  description: 'Unknown, deleted or expired key, or a path that cannot be a key',
  content: {
    'application/json': { schema: ErrorBody },
    'text/html': { schema: Type.String() }
  }
}

/** GET and HEAD /{key} (Fastify adds HEAD for every GET); HEAD is never counted as a click. */
export const redirectRoutes: FastifyPluginAsyncTypebox<RedirectRoutesOptions> = async (app, opts) => {
  const { resolver, status } = opts
  const cacheControl = cacheControlFor(status, opts.permanentMaxAgeSeconds)
  const results = opts.outcomes

  function answer (request: FastifyRequest, reply: FastifyReply, key: string, link: ResolvedLink | null): void {
    if (link === null) {
      results.not_found++
      sendNotFound(reply, request.headers.accept, `No link with the key "${key}"`)
      return
    }
    results.redirect++
    if (request.method === 'GET') app.clicks.record(key, isBot(request.headers['user-agent']))
    reply.code(status).header('location', link.location).header('cache-control', cacheControl(link.expiresAt)).send()
  }

  function notAKey (request: FastifyRequest, reply: FastifyReply): void {
    results.invalid++
    sendNotFound(reply, request.headers.accept, NOT_A_KEY)
  }

  app.get('/:key', {
    schema: {
      params: Type.Object({ key: Type.String() }),
      response: { [status]: Type.Null({ description: 'The Location header carries the stored URL: as stored when ASCII, else its WHATWG serialisation' }), 404: NotFound, 500: ErrorBody, 503: ErrorBody }
    }
  }, (request, reply) => {
    const { key } = request.params
    // Decided from the path alone: scanners and typos never reach Redis or Cassandra.
    if (!canBeKey(key)) return notAKey(request, reply)
    const local = resolver.cached(key)
    if (local !== undefined) return answer(request, reply, key, local)
    // Only a local miss waits, and only for the lookup; clicks are recorded in memory.
    return resolver.resolve(key).then((link) => answer(request, reply, key, link))
  })

  // "/", "/a/b", "/key/": nothing that can be a key, answered like an unknown key.
  app.get('/*', { schema: { response: { 404: NotFound } } }, (request, reply) => notAKey(request, reply))
}
