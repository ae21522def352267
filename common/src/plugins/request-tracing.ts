import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    traceSpan: Span | null
  }
}

// A SERVER span per request, named by its method and route ("GET /:key"), continuing the
// traceparent nginx sends. Written here rather than taken from @fastify/otel, which measured 0.82 ×
// the redirects per second of tracing off at 10 % sampling (docs/benchmarks.md, "Tracing"): it opens
// a span, a context and a handler span for every request, recorded or not. Here a request nginx did
// not sample costs one look at its traceparent's flags and nothing more: no span, no context, so
// the Redis and Cassandra instrumentations below it see no parent and step aside too.

export interface RequestTracingOptions {
  tracer: Tracer
  /** Routes never traced (probes, scrapes). */
  untraced: ReadonlySet<string>
}

/** The sampled bit of a W3C traceparent (version 00), or null when the header is not one. */
export function sampledFlag (header: string): boolean | null {
  if (header.length !== 55 || !header.startsWith('00-') || header[35] !== '-' || header[52] !== '-') return null
  const flags = Number.parseInt(header.slice(53), 16)
  return Number.isNaN(flags) ? null : (flags & 1) === 1
}

async function requestTracing (app: FastifyInstance, opts: RequestTracingOptions): Promise<void> {
  const { tracer, untraced } = opts
  // Spans whose status an error already set, with its message: the 5xx that follows keeps it.
  const failed = new WeakSet<Span>()
  app.decorateRequest('traceSpan', null)

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url
    if (route !== undefined && untraced.has(route)) return done()
    const header = request.headers.traceparent
    const sampled = typeof header === 'string' ? sampledFlag(header) : null
    // nginx decided not to record this trace: nothing to do.
    if (sampled === false) return done()
    // A malformed or missing traceparent starts a trace here, at TRACE_SAMPLE_RATIO.
    const parent = sampled === true ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT
    const span = tracer.startSpan(`${request.method} ${route ?? '(no route)'}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'url.path': request.url.split('?')[0],
        ...(route === undefined ? {} : { 'http.route': route })
      }
    }, parent)
    if (!span.isRecording()) return done()
    request.traceSpan = span
    context.with(trace.setSpan(parent, span), done)
  })

  app.addHook('onError', (request, _reply, error, done) => {
    const span = request.traceSpan
    if (span !== null) {
      span.recordException(error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
      failed.add(span)
    }
    done()
  })

  app.addHook('onResponse', (request, reply, done) => {
    const span = request.traceSpan
    if (span !== null) {
      span.setAttribute('http.response.status_code', reply.statusCode)
      // A 5xx is the server's failure; a 4xx is the caller's and leaves the span unset.
      if (reply.statusCode >= 500 && !failed.has(span)) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    }
    done()
  })
}

export default fp(requestTracing, { name: 'sw-request-tracing', fastify: '5.x' })
