import { LogController, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { HttpConfig } from './config.ts'
import type { Tracing } from './tracing.ts'

/**
 * Fastify options every service shares: JSON logs carrying nginx's X-Request-Id, the
 * Authorization header redacted, no client address logged, proxy headers trusted only from nginx's address, and the
 * per-request log pair only when LOG_REQUESTS asks for it. With tracing on, every line written
 * inside a span also carries its trace_id and span_id (loops, deliveries; a request's reqId
 * already is nginx's trace id).
 */
export function serverOptions (
  config: HttpConfig, extra: FastifyServerOptions = {}, tracing?: Tracing
): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      ...(tracing ? { mixin: tracing.logMixin } : {}),
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
      // Fastify's own request line carries the client's address and port: no personal data at rest.
      serializers: {
        req: (req: { method: string, url: string, host?: string }) => ({
          method: req.method, url: req.url, host: req.host
        })
      }
    },
    logController: new LogController({ disableRequestLogging: !config.LOG_REQUESTS }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: config.TRUST_PROXY.split(',').map((s) => s.trim()),
    return503OnClosing: true,
    ...extra
  }
}
