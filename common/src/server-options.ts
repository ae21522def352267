import { LogController, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { HttpConfig } from './config.ts'

/**
 * Fastify options every service shares: JSON logs carrying nginx's X-Request-Id, the
 * Authorization header redacted, no client address logged, proxy headers trusted only from nginx's address, and the
 * per-request log pair only when LOG_REQUESTS asks for it.
 */
export function serverOptions (config: HttpConfig, extra: FastifyServerOptions = {}): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
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
