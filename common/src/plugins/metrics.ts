import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
  }
}

export interface MetricsOptions {
  service: string
}

/** One registry per app instance (never the global one), so two apps in one test process don't clash. */
async function metricsPlugin (app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  const registry = new Registry()
  registry.setDefaultLabels({ service: opts.service })
  collectDefaultMetrics({ register: registry })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  app.decorate('metrics', registry)
  // Runs for every request, redirects included: a callback hook (no promise) and one labelled
  // child per method, route and status, found by a string key rather than prom-client hashing
  // a label object on every observation. The route pattern, never the raw URL, keeps the
  // number of children bounded.
  const children = new Map<string, { observe: (value: number) => void }>()
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const id = `${request.method} ${reply.statusCode} ${route}`
    let child = children.get(id)
    if (child === undefined) {
      child = duration.labels({ method: request.method, route, status_code: reply.statusCode })
      children.set(id, child)
    }
    child.observe(reply.elapsedTime / 1000)
    done()
  })
  app.get('/metrics', {
    logLevel: 'warn',
    schema: { hide: true, response: { 200: { type: 'string' } } }
  }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}

export default fp(metricsPlugin, { name: 'sw-metrics', fastify: '5.x' })
