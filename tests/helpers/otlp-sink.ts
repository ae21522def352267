// An OTLP/HTTP receiver for tests: takes what the services' exporter POSTs to /v1/traces
// (protobuf, common/src/tracing.ts) on a real listener and decodes the spans. The decoder knows
// the few fields of opentelemetry/proto/trace/v1/trace.proto the tests read, nothing more.
import { createServer, type Server } from 'node:http'

export interface SinkSpan {
  service: string
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  durationMs: number
  attributes: Record<string, string | number | boolean>
  /** 0 unset, 1 ok, 2 error */
  status: number
}

export interface OtlpSink {
  endpoint: string
  spans: SinkSpan[]
  close: () => Promise<void>
}

type Fields = Map<number, Array<Buffer | bigint>>

/** One protobuf message's fields by number: length-delimited ones as Buffers, numbers as bigints. */
function fields (buffer: Buffer): Fields {
  const out: Fields = new Map()
  let at = 0
  const varint = (): bigint => {
    let value = 0n
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[at++]!
      value |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return value
    }
  }
  while (at < buffer.length) {
    const tag = Number(varint())
    const [number, wire] = [tag >>> 3, tag & 7]
    let value: Buffer | bigint
    if (wire === 0) value = varint()
    else if (wire === 1) {
      value = buffer.readBigUInt64LE(at)
      at += 8
    } else if (wire === 5) {
      value = BigInt(buffer.readUInt32LE(at))
      at += 4
    } else if (wire === 2) {
      const length = Number(varint())
      value = buffer.subarray(at, at + length)
      at += length
    } else throw new Error(`unexpected wire type ${wire}`)
    out.set(number, [...(out.get(number) ?? []), value])
  }
  return out
}

const bytes = (f: Fields, n: number): Buffer[] => (f.get(n) ?? []) as Buffer[]
const number = (f: Fields, n: number): bigint => (f.get(n)?.[0] as bigint | undefined) ?? 0n

function attributes (list: Buffer[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const kv of list.map(fields)) {
    const value = fields(bytes(kv, 2)[0] ?? Buffer.alloc(0))
    const key = bytes(kv, 1)[0]?.toString() ?? ''
    if (value.has(1)) out[key] = bytes(value, 1)[0]!.toString()
    else if (value.has(2)) out[key] = number(value, 2) === 1n
    else if (value.has(3)) out[key] = Number(number(value, 3))
  }
  return out
}

/** The spans of one ExportTraceServiceRequest. */
export function decodeTraces (body: Buffer): SinkSpan[] {
  return bytes(fields(body), 1).map(fields).flatMap((resourceSpans) => {
    const resource = attributes(bytes(fields(bytes(resourceSpans, 1)[0] ?? Buffer.alloc(0)), 1))
    return bytes(resourceSpans, 2).map(fields).flatMap((scope) => bytes(scope, 2).map(fields).map((span) => ({
      service: String(resource['service.name']),
      traceId: bytes(span, 1)[0]?.toString('hex') ?? '',
      spanId: bytes(span, 2)[0]?.toString('hex') ?? '',
      parentSpanId: bytes(span, 4)[0]?.toString('hex') ?? '',
      name: bytes(span, 5)[0]?.toString() ?? '',
      kind: Number(number(span, 6)),
      durationMs: Number(number(span, 8) - number(span, 7)) / 1e6,
      attributes: attributes(bytes(span, 9)),
      status: Number(number(fields(bytes(span, 15)[0] ?? Buffer.alloc(0)), 3))
    })))
  })
}

export async function startOtlpSink (): Promise<OtlpSink> {
  const spans: SinkSpan[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.url === '/v1/traces') spans.push(...decodeTraces(Buffer.concat(chunks)))
      response.writeHead(request.url === '/v1/traces' ? 200 : 404, { 'content-type': 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
