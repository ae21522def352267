import { startTracing, tracer, type Tracing } from '@shortwave/common/tracing'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp as buildCreate } from '../create-service/src/app.ts'
import { configSchema as createSchema } from '../create-service/src/config.ts'
import { loadConfig } from '@shortwave/common/config'
import { startOtlpSink, type OtlpSink, type SinkSpan } from './helpers/otlp-sink.ts'
import { createLink, startStack, waitFor, type Stack } from './helpers/stack.ts'

// Invariant 9 in the services, on a real Redis and Cassandra: the traceparent nginx sends is
// continued, every Redis command and Cassandra query of a sampled request is a span below its
// request span, the worker's loop passes are traces of their own, an unsampled request records
// nothing, and probes are never traced. The spans are read as the collector would get them: OTLP
// protobuf over HTTP to a real listener (helpers/otlp-sink.ts).

const hex = (bytes: number): string => randomBytes(bytes).toString('hex')
const traceparent = (traceId: string, parentId: string, sampled: boolean): string => `00-${traceId}-${parentId}-${sampled ? '01' : '00'}`

describe('tracing', () => {
  let sink: OtlpSink
  let tracing: Tracing
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    sink = await startOtlpSink()
    tracing = (await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, TRACE_SAMPLE_RATIO: 1 }, 'tracing-test'))!
    infra = await createTestInfra('e2e_tracing')
    stack = await startStack(infra, { tracing, env: { CLICK_FOLD_INTERVAL_MS: '200' } })
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
    await tracing?.shutdown()
    await sink?.close()
  })

  /** The spans of one trace, once exported. */
  async function spansOf (traceId: string, until: (spans: SinkSpan[]) => boolean): Promise<SinkSpan[]> {
    let spans: SinkSpan[] = []
    await waitFor(`the spans of ${traceId}`, async () => {
      await tracing.flush()
      spans = sink.spans.filter((s) => s.traceId === traceId)
      return until(spans)
    }, 10_000)
    return spans
  }

  /** Whether `span` is below `ancestor` in its trace. */
  function below (spans: SinkSpan[], span: SinkSpan, ancestor: SinkSpan): boolean {
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    for (let at = byId.get(span.parentSpanId); at !== undefined; at = byId.get(at.parentSpanId)) {
      if (at === ancestor) return true
    }
    return false
  }

  it('continues the caller\'s trace into a create: a server span under its parent id, the Cassandra queries below it', async () => {
    const [traceId, parentId] = [hex(16), hex(8)]
    const created = await createLink(stack.createUrl, { url: 'https://example.com/traced' }, { traceparent: traceparent(traceId, parentId, true) })
    expect(created.status).toBe(201)
    const spans = await spansOf(traceId, (s) => s.some((span) => span.name === 'POST /api/v1/links') && s.some((span) => span.name.startsWith('cassandra-driver.')))
    const request = spans.find((s) => s.name === 'POST /api/v1/links')!
    expect(request).toMatchObject({ service: 'tracing-test', parentSpanId: parentId, kind: 2 })
    expect(request.attributes).toMatchObject({ 'http.route': '/api/v1/links', 'http.request.method': 'POST', 'http.response.status_code': 201 })
    const queries = spans.filter((s) => s.name.startsWith('cassandra-driver.'))
    expect(queries.every((q) => below(spans, q, request))).toBe(true)
    expect(queries.map((q) => q.attributes['db.system'] ?? q.attributes['db.system.name'])).toContain('cassandra')
  })

  it('traces a redirect down to Redis, naming the command but none of its arguments', async () => {
    const created = await createLink(stack.createUrl, { url: 'https://example.com/redirect-traced' })
    const key = created.body['key'] as string
    const [traceId, parentId] = [hex(16), hex(8)]
    const response = await fetch(`${stack.redirectUrl}/${key}`, { redirect: 'manual', headers: { traceparent: traceparent(traceId, parentId, true) } })
    expect(response.status).toBe(302)
    const spans = await spansOf(traceId, (s) => s.some((span) => span.name === 'GET /:key') && s.some((span) => span.attributes['db.system'] === 'redis' || span.attributes['db.system.name'] === 'redis'))
    const request = spans.find((s) => s.name === 'GET /:key')!
    expect(request).toMatchObject({ parentSpanId: parentId, kind: 2 })
    expect(request.attributes['http.response.status_code']).toBe(302)
    const commands = spans.filter((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis')
    expect(commands.every((c) => below(spans, c, request))).toBe(true)
    for (const command of commands) {
      expect(Object.values(command.attributes).map(String).filter((v) => v.includes(key) || v.includes('example.com'))).toEqual([])
    }
  })

  it('records nothing of a request its caller did not sample, and never a probe', async () => {
    const unsampled = hex(16)
    const created = await createLink(stack.createUrl, { url: 'https://example.com/unsampled' }, { traceparent: traceparent(unsampled, hex(8), false) })
    expect(created.status).toBe(201)
    const probe = hex(16)
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${stack.createUrl}${path}`, { headers: { traceparent: traceparent(probe, hex(8), true) } })).status).toBe(200)
    }
    // A sampled request after them: once it is exported, so would they have been.
    const marker = hex(16)
    await createLink(stack.createUrl, { url: 'https://example.com/marker' }, { traceparent: traceparent(marker, hex(8), true) })
    await spansOf(marker, (s) => s.some((span) => span.name === 'POST /api/v1/links'))
    expect(sink.spans.filter((s) => s.traceId === unsampled || s.traceId === probe)).toEqual([])
  })

  it('makes each of the key-worker\'s loop passes a trace of its own, with its store calls below it', async () => {
    await waitFor('a traced refill and click fold', async () => {
      await tracing.flush()
      const names = new Set(sink.spans.filter((s) => s.parentSpanId === '').map((s) => s.name))
      return names.has('loop refill') && names.has('loop click fold')
    }, 10_000)
    const fold = sink.spans.find((s) => s.name === 'loop click fold')!
    const children = sink.spans.filter((s) => s.traceId === fold.traceId && s.parentSpanId === fold.spanId)
    expect(children.length).toBeGreaterThan(0)
    expect(children.every((c) => c.kind !== 2)).toBe(true)
  })

  it('records a store call only inside a trace, with its CQL but never its values', async () => {
    // Outside any span (a request nginx did not sample, a timer's work): no trace of its own.
    await infra.cassandra.execute('SELECT key FROM links WHERE bucket = ? /* outside */', ['nokeyhere1'], { prepare: true })
    const traceId = await tracer().startActiveSpan('test pass', { root: true }, async (span) => {
      await infra.cassandra.execute('SELECT key FROM links WHERE bucket = ? /* inside */', ['secretvalue1'], { prepare: true })
      span.end()
      return span.spanContext().traceId
    })
    const spans = await spansOf(traceId, (s) => s.some((span) => span.name.startsWith('cassandra-driver.')))
    const query = spans.find((s) => s.name.startsWith('cassandra-driver.'))!
    expect(String(query.attributes['db.statement'] ?? query.attributes['db.query.text'])).toContain('bucket = ? /* inside */')
    expect(JSON.stringify(sink.spans)).not.toContain('secretvalue1')
    expect(JSON.stringify(sink.spans)).not.toContain('/* outside */')
  })

  it('puts the trace id and span id on every log line written inside a span', async () => {
    const lines: Array<Record<string, unknown>> = []
    const logStream = new PassThrough()
    logStream.on('data', (chunk: Buffer) => { for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line)) })
    const app = await buildCreate(loadConfig(createSchema, { ...infra.env, PUBLIC_BASE_URL: 'http://sw.test', LOG_LEVEL: 'info', LOG_REQUESTS: 'true' }), {
      cassandra: infra.cassandra, redis: infra.redis, logStream, tracing
    })
    try {
      const traceId = hex(16)
      const response = await app.inject({ method: 'GET', url: '/api/v1/links/nosuchkey1', headers: { traceparent: traceparent(traceId, hex(8), true), 'x-request-id': traceId } })
      expect(response.statusCode).toBeGreaterThanOrEqual(400)
      const completed = lines.find((l) => l['msg'] === 'request completed' && l['reqId'] === traceId)
      expect(completed).toMatchObject({ trace_id: traceId })
      expect(completed!['span_id']).toMatch(/^[0-9a-f]{16}$/)
      // Every line of the request after its span began (Fastify's 'incoming request' comes before
      // the hooks), the 401's warning too; no line outside it (start-up).
      const ofRequest = lines.filter((l) => l['reqId'] === traceId && l['msg'] !== 'incoming request')
      expect(ofRequest.length).toBeGreaterThan(1)
      expect(ofRequest.every((l) => l['trace_id'] === traceId)).toBe(true)
      expect(lines.filter((l) => l['reqId'] === undefined).every((l) => l['trace_id'] === undefined)).toBe(true)
    } finally {
      await app.close()
    }
  })
})
