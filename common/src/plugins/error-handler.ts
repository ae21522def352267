import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import { DependencyUnavailableError, isCassandraUnavailable, MethodNotAllowedError } from '../errors.ts'

export interface ErrorHandlerOptions {
  /** Seconds a client should wait before retrying after a 503. */
  retryAfterSeconds: number
}

export interface ErrorBody {
  statusCode: number
  error: string
  message: string
  code?: string
}

function statusOf (error: FastifyError): number {
  const status = error.statusCode ?? 500
  return status >= 400 && status <= 599 ? status : 500
}

/**
 * Our own errors (common/src/errors.ts) carry messages written for clients; a driver's do not (its
 * codes are numbers).
 */
function isOurs (error: FastifyError): boolean {
  return typeof error.code === 'string' && error.code.startsWith('SW_')
}

function messageOf (error: FastifyError, status: number): string {
  if (status === 503) return isOurs(error) ? error.message : 'A dependency is unavailable; retry shortly'
  if (status >= 500) return 'Internal Server Error'
  if (error.validation) {
    // Ajv says "body/url must match format"; say which field, in words a person can act on.
    return error.message.replace(/^(body|querystring|params|headers)\//, '$1.').replace(/^body\.?/, '')
  }
  return error.message
}

/**
 * The answer an error becomes: 4xx say what was wrong, 5xx hide details. Exported for answers
 * that carry several outcomes (a batch's per-item results), so each reads like a response would.
 */
export function errorBody (thrown: FastifyError): ErrorBody {
  // The one translation of Cassandra's failures: callers let the driver's errors through.
  const error = isCassandraUnavailable(thrown) ? new DependencyUnavailableError('Cassandra', { cause: thrown }) : thrown
  const status = statusOf(error)
  const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: messageOf(error, status) }
  if (error.code && (status < 500 || (status === 503 && isOurs(error)))) body.code = error.code
  else if (status === 503) body.code = 'SW_DEPENDENCY_UNAVAILABLE'
  return body
}

/** The one place where errors become HTTP answers. */
async function errorHandler (app: FastifyInstance, opts: ErrorHandlerOptions): Promise<void> {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const body = errorBody(error)
    const status = body.statusCode
    if (status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: error.code, message: error.message }, 'request rejected')
    if (status === 503) reply.header('retry-after', String(opts.retryAfterSeconds))
    // RFC 9110: a 405 names the methods the path does answer.
    if (error instanceof MethodNotAllowedError) reply.header('allow', error.allow)
    return reply.code(status).type('application/json; charset=utf-8').send(body)
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` })
  })
}

export default fp(errorHandler, { name: 'sw-error-handler', fastify: '5.x' })
