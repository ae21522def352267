import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

// The OpenAPI document is generated from the route schemas (registered after this plugin, so it
// sees every route), served at /api/docs/json, with Swagger UI at /api/docs. OpenAPI 3.1 schemas
// are JSON Schema, so the route schemas (and their `examples`) go in unchanged.

export interface OpenApiOptions {
  /** The public base URL: the server the document's examples talk to. */
  publicBaseUrl: string
}

async function openApiPlugin (app: FastifyInstance, opts: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Shortwave',
        version: '1.0.0',
        description: 'Short links: create (one or a batch, idempotently), read, list, delete, click statistics and QR codes. ' +
          'Errors are JSON with a message a person can act on and a stable code.'
      },
      servers: [{ url: opts.publicBaseUrl }],
      tags: [
        { name: 'links', description: 'Short links' },
        { name: 'domains', description: 'Custom domains links are served on' },
        { name: 'api keys', description: 'The key of a request, and (admin keys) every key' },
        { name: 'import/export', description: 'Links to and from files, Shortwave\'s or other shorteners\'' },
        { name: 'webhooks', description: 'Signed events about your links, POSTed to your endpoints (Standard Webhooks)' }
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (sw_…), created with `npm run apikey -- create`' }
        }
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs', logLevel: 'warn' })
}

export default fp(openApiPlugin, { name: 'cs-openapi', fastify: '5.x' })
