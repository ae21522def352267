import { LogController, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { HttpConfig } from './config.ts'

/**
 * Fastify options every service shares: JSON logs carrying nginx's X-Request-Id, the
 * Authorization header redacted, proxy headers trusted only from nginx's address, and the
 * per-request log pair only when LOG_REQUESTS asks for it.
 */
export function serverOptions (config: HttpConfig, extra: FastifyServerOptions = {}): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' }
    },
    logController: new LogController({ disableRequestLogging: !config.LOG_REQUESTS }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: config.TRUST_PROXY.split(',').map((s) => s.trim()),
    return503OnClosing: true,
    ...extra
  }
}
