import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { MethodNotAllowedError } from '../errors.ts'

// The methods an Allow header may name, in the order RFC 9110 lists them (PATCH after PUT).
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * The methods of the route that `path` names, asked of Fastify's own router (HEAD comes with
 * every GET). A path may match several routes, e.g. `/api/v1/links/batch` both the static
 * `/api/v1/links/batch` (POST) and `/api/v1/links/:key` (GET, DELETE): like OpenAPI, which
 * matches concrete paths before templated ones, the most specific route names the resource,
 * i.e. the one taking the fewest parameters (a wildcard counts as one).
 */
function allowedMethods (app: FastifyInstance, path: string): string[] {
  const matches = METHODS.flatMap((method) => {
    const route = app.findRoute({ method, url: path })
    return route === null ? [] : [{ method, params: Object.keys(route.params).length }]
  })
  const fewest = Math.min(...matches.map((match) => match.params))
  return matches.filter((match) => match.params === fewest).map((match) => match.method)
}

/**
 * Fastify answers a known path asked with a method none of its routes take as if the path did
 * not exist (404). This makes it a 405 naming, in the Allow header, the methods that path does
 * answer (RFC 9110), mapped by the error handler like any other error. An onRequest hook rather
 * than the 404 handler, so the answer comes before the body is read or judged (a wrong method
 * is not a 415). No route is added: the OpenAPI document and the route table stay as they are.
 */
async function methodNotAllowed (app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    // Runs for every request (a root hook reaches every route); only unrouted ones go further.
    if (!request.is404) return done()
    const allow = allowedMethods(app, request.url.split('?')[0]!)
    done(allow.length > 0 ? new MethodNotAllowedError(request.method, allow) : undefined)
  })
}

export default fp(methodNotAllowed, { name: 'sw-method-not-allowed', fastify: '5.x', dependencies: ['sw-error-handler'] })
