import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import type { TracingConfig } from './config.ts'
import requestTracing from './plugins/request-tracing.ts'

// OpenTelemetry for one process (invariant 9): a span for every request nginx sampled, named by
// its method and route (plugins/request-tracing.ts, which continues nginx's traceparent), for every
// Redis command and Cassandra query below it (OpenTelemetry's instrumentations of ioredis and
// cassandra-driver), and for the workers' loop passes and webhook deliveries (tracer() below),
// exported over OTLP/HTTP.
//
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and off loads none of it: no SDK, no hooks, no
// request hook. The @opentelemetry/api calls left in the loops are then no-ops.
//
// Sampling is parent-based: nginx decides for every request it forwards (split_clients on the
// trace id, nginx/README.md), so a trace is whole or absent across hops. TRACE_SAMPLE_RATIO only
// decides for traces this process starts itself (loop passes, requests that bypass nginx).

export interface Tracing {
  /** Request spans; register before any route. */
  plugin: (app: FastifyInstance) => Promise<void>
  /** For pino: the active span's trace and span id on every log line written inside one. */
  logMixin: () => Record<string, string>
  /** Exports what is buffered now. */
  flush: () => Promise<void>
  /** Exports what is buffered, then stops. */
  shutdown: () => Promise<void>
}

/** Paths that are the platform's, not the users': probes and scrapes are never traced. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics'])

export async function startTracing (config: TracingConfig, service: string): Promise<Tracing | undefined> {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint === undefined) return undefined
  const [sdk, otlp, resources, instrumentation, ioredis, cassandra] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-cassandra-driver')
  ])
  const provider = new sdk.NodeTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': service,
      'service.namespace': 'shortwave',
      'service.instance.id': `${hostname()}:${process.pid}`
    }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.TRACE_SAMPLE_RATIO) }),
    spanProcessors: [new sdk.BatchSpanProcessor(
      new otlp.OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces`, timeoutMillis: 5000 }),
      // A full queue drops spans, never blocks or grows: tracing must not take a service down.
      { maxQueueSize: 8192, maxExportBatchSize: 1024, scheduledDelayMillis: 1000 }
    )]
  })
  // The AsyncLocalStorage context manager and the W3C traceparent propagator, process-wide.
  provider.register()

  instrumentation.registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // A command outside any span (a timer's flush with nothing sampled above it) is not traced.
      // The statement is the command's name alone: its arguments are link keys and click data.
      new ioredis.IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      // The statement is the CQL with its `?`s (the services bind every value); the values never.
      new cassandra.CassandraDriverInstrumentation({ enhancedDatabaseReporting: true })
    ]
  })
  // The instrumentations patch a module when it passes through require(); the services import
  // ioredis and cassandra-driver as ES modules, which that hook does not see. One require here
  // patches the classes the imports share, whether they were imported before or after.
  const require = createRequire(import.meta.url)
  require('ioredis')
  onlyInsideTraces((require('cassandra-driver') as { Client: { prototype: Record<string, unknown> } }).Client.prototype)

  return {
    plugin: fp(async (app) => { await app.register(requestTracing, { tracer: tracer(), untraced: UNTRACED }) }, { name: 'sw-tracing' }),
    logMixin: (): Record<string, string> => {
      const context = trace.getActiveSpan()?.spanContext()
      return context === undefined ? {} : { trace_id: context.traceId, span_id: context.spanId }
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown()
  }
}

/**
 * The Cassandra instrumentation opens a span and a context for every query, in a trace or not:
 * outside one, the query became a trace of its own (sampled at TRACE_SAMPLE_RATIO), and even when
 * dropped it cost a create nginx did not sample about 9 µs of its ~105 (docs/benchmarks.md,
 * "Issue 16"). Unlike the Redis one it has no setting to step aside without a parent, so its
 * wrappers are wrapped once more: outside a recording span, the driver's own method (shimmer keeps
 * it as `__original`) runs directly.
 */
type Method = (...args: unknown[]) => unknown

function onlyInsideTraces (client: Record<string, unknown>): void {
  for (const method of ['_execute', 'batch', 'stream']) {
    const traced = client[method] as Method & { __original?: Method }
    const plain = traced.__original
    if (plain === undefined) throw new Error(`cassandra-driver's Client.${method} is not instrumented; the instrumentation changed`)
    client[method] = function (this: unknown, ...args: unknown[]) {
      return trace.getActiveSpan()?.isRecording() === true ? traced.apply(this, args) : plain.apply(this, args)
    }
  }
}

/** Where loops and deliveries start their spans; a no-op tracer while tracing is off. */
export function tracer () {
  return trace.getTracer('shortwave')
}

/**
 * Runs `work` as the root span of a trace of its own (a loop pass, a webhook attempt): the store
 * calls it makes are its children, a throw marks it failed. Sampled by TRACE_SAMPLE_RATIO; a no-op
 * span while tracing is off.
 */
export async function inOwnTrace<T> (
  name: string, attributes: Attributes, work: (span: Span) => Promise<T>
): Promise<T> {
  return await tracer().startActiveSpan(name, { root: true, attributes }, async (span) => {
    try {
      return await work(span)
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
      throw err
    } finally {
      span.end()
    }
  })
}
