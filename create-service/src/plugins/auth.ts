import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createApiKeyRepository } from '../api-keys.ts'
import { bearerToken, createCallerLookup, unauthorized, type Caller } from '../caller.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request carried, or null when anonymous. */
    caller: Caller | null
  }
  interface FastifyInstance {
    /** onRequest hook: sets request.caller from `Authorization: Bearer <api key>`; 401 for a bad or revoked key. */
    identifyCaller: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** Drops this replica's cached lookups of the key with this id: its next request reads it again. */
    forgetCaller: (id: string) => void
  }
}

export interface AuthOptions {
  cacheTtlMs: number
  cacheMax?: number
}

/**
 * API key authentication. A request without an Authorization header is anonymous (each route
 * decides whether that is enough); one with a header must carry a valid, unrevoked key. The
 * header itself never reaches the logs (server-options redacts it); the key's id does.
 */
async function authPlugin (app: FastifyInstance, opts: AuthOptions): Promise<void> {
  const repo = createApiKeyRepository(app.cassandra)
  const lookup = createCallerLookup((hash) => repo.findByHash(hash), {
    ttlMs: opts.cacheTtlMs, max: opts.cacheMax ?? 10_000
  })

  app.decorateRequest('caller', null)
  app.decorate('forgetCaller', lookup.forget)
  app.decorate('identifyCaller', async function identifyCaller (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization
    if (header === undefined) return
    const secret = bearerToken(header)
    if (secret === null) unauthorized(reply, 'send the API key as "Authorization: Bearer <api key>"')
    const caller = await lookup(secret)
    if (caller === null) unauthorized(reply, 'the API key is not valid, or has been revoked', true)
    request.caller = caller
    // Every later line of this request (the error handler's, the access log's) names the key.
    request.log = reply.log = request.log.child({ caller: caller.id })
  })
}

export default fp(authPlugin, { name: 'cs-auth', fastify: '5.x', dependencies: ['sw-cassandra'] })
