import { UnauthorizedError } from '@shortwave/common/errors'
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for: an API key's id, or null when anonymous. */
    owner: string | null
  }
}

/**
 * Decides who is calling, before the body is even read. Every caller is anonymous until API
 * keys exist; they will be checked here and set `request.owner`.
 */
export function authenticate (allowAnonymous: boolean) {
  return async function authenticateCaller (request: FastifyRequest): Promise<void> {
    request.owner = null
    if (!allowAnonymous) throw new UnauthorizedError('an API key is required: send Authorization: Bearer <api key>')
  }
}
