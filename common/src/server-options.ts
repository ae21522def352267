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
    // While a replica drains after SIGTERM, nginx may still send a request on a keep-alive
    // connection it opened before: it is served (Fastify answers it with Connection: close),
    // not refused with a 503 that nginx cannot pass to another replica for a POST.
    return503OnClosing: false,
    ...extra
  }
}
