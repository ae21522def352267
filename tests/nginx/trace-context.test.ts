// W3C Trace Context at the edge (nginx.conf: $sw_trace_id, $sw_parent_id, $sw_trace_flags): nginx
// starts or continues the trace, its id is the request id, and the sampling is nginx's decision.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send, startEdge, startStandIn, testEnv, type Edge, type StandIn } from './edge.ts'

// A valid one: neither id all zeros.
const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-(0[01])$/
const ID = /^[0-9a-f]{32}$/
// The example of the W3C recommendation.
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'

/** A made-up but fixed 32-hex id per label: the tests of sampling give the same answer every run. */
const idOf = (label: string) => createHash('md5').update(label).digest('hex')

// nginx 1.23 and later join repeated header lines with ", " in $http_… (the image runs 1.28);
// 1.22 (Debian bookworm's, which these tests may run) reads the first line only.
const [major, minor] = (/nginx\/(\d+)\.(\d+)/.exec(spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr) ?? [])
  .slice(1).map(Number)
const JOINS_REPEATED_HEADERS = major! > 1 || minor! >= 23

interface Passed {
  /** The X-Request-Id nginx answered with. */
  id: string
  /** What the service received. */
  upstream: IncomingHttpHeaders
  traceparent: { traceId: string, parentId: string, flags: string }
}

/** One request through `edge`; what the client got back and the service received. */
async function through (edge: Edge, headers: Record<string, string | string[]> = {}, path = '/Xk3p9Qa'): Promise<Passed> {
  const response = await send(`${edge.url}${path}`, { headers })
  expect(response.status).toBe(200)
  const upstream = (JSON.parse(response.body) as { headers: IncomingHttpHeaders }).headers
  const match = TRACEPARENT.exec(String(upstream['traceparent']))
  expect(match, `traceparent upstream: ${upstream['traceparent']}`).not.toBeNull()
  return {
    id: String(response.headers['x-request-id']),
    upstream,
    traceparent: { traceId: match![1]!, parentId: match![2]!, flags: match![3]! }
  }
}

describe('nginx edge: W3C trace context', () => {
  let create: StandIn
  let redirect: StandIn
  /** Samples every trace, as the local stack does. */
  let all: Edge
  /** Samples none. */
  let none: Edge
  let half: Edge

  beforeAll(async () => {
    create = await startStandIn('create')
    redirect = await startStandIn('redirect')
    const upstreams = { create: [create.address], redirect: [redirect.address] }
    all = await startEdge((port) => testEnv({ port, ...upstreams, sampledPercent: 100 }))
    none = await startEdge((port) => testEnv({ port, ...upstreams, sampledPercent: 0 }))
    half = await startEdge((port) => testEnv({ port, ...upstreams, sampledPercent: 50 }))
  })

  afterAll(async () => {
    for (const edge of [all, none, half]) await edge?.close()
    await create?.close()
    await redirect?.close()
  })

  it.each(['/api/v1/links/k', '/Xk3p9Qa'])('starts a trace on %s when the caller sent none: the X-Request-Id it returns is the trace id the service gets', async (path) => {
    const first = await through(all, {}, path)
    expect(first.id).toMatch(ID)
    expect(first.upstream['x-request-id']).toBe(first.id)
    expect(first.traceparent).toEqual({ traceId: first.id, parentId: expect.any(String), flags: '01' })
    expect(first.upstream['tracestate']).toBeUndefined()
    // Each request its own trace, under a parent id of its own.
    const second = await through(all, {}, path)
    expect(second.id).not.toBe(first.id)
    expect(second.traceparent.parentId).not.toBe(first.traceparent.parentId)
  })

  it('continues a valid traceparent: its trace id (also the X-Request-Id) and parent id, with its tracestate', async () => {
    const passed = await through(all, { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: TRACESTATE })
    expect(passed.id).toBe(TRACE)
    expect(passed.upstream['x-request-id']).toBe(TRACE)
    expect(passed.traceparent).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' })
    expect(passed.upstream['tracestate']).toBe(TRACESTATE)
  })

  it('decides the sampling itself, whatever the caller\'s traceparent asks', async () => {
    expect((await through(all, { traceparent: `00-${TRACE}-${PARENT}-00` })).traceparent.flags).toBe('01')
    expect((await through(none, { traceparent: `00-${TRACE}-${PARENT}-01` })).traceparent).toEqual({ traceId: TRACE, parentId: PARENT, flags: '00' })
    expect((await through(none)).traceparent.flags).toBe('00')
  })

  it('samples on the trace id: every request of a trace gets the same decision, and a share of the traces is sampled', async () => {
    const decisions = new Map<string, string[]>()
    for (let i = 0; i < 40; i++) {
      const trace = idOf(`trace-${i}`)
      // Continued once from a traceparent and once from the X-Request-Id alone, as two hops would.
      const flags = [
        (await through(half, { traceparent: `00-${trace}-${PARENT}-01` })).traceparent.flags,
        (await through(half, { 'x-request-id': trace })).traceparent.flags
      ]
      decisions.set(trace, flags)
    }
    for (const [trace, [first, second]] of decisions) expect(second, trace).toBe(first)
    const sampled = [...decisions.values()].filter(([flags]) => flags === '01').length
    expect(sampled).toBeGreaterThan(10)
    expect(sampled).toBeLessThan(30)
  })

  it('continues a caller\'s 32-hex X-Request-Id as the trace id, under a parent id of its own', async () => {
    const trace = idOf('x-request-id')
    const passed = await through(all, { 'x-request-id': trace, tracestate: TRACESTATE })
    expect(passed.id).toBe(trace)
    expect(passed.upstream['x-request-id']).toBe(trace)
    expect(passed.traceparent).toEqual({ traceId: trace, parentId: expect.any(String), flags: '01' })
    // A tracestate belongs to a traceparent: none came.
    expect(passed.upstream['tracestate']).toBeUndefined()
  })

  it('prefers a valid traceparent\'s trace id to the X-Request-Id', async () => {
    const passed = await through(all, { traceparent: `00-${TRACE}-${PARENT}-01`, 'x-request-id': idOf('other') })
    expect(passed.id).toBe(TRACE)
    expect(passed.upstream['x-request-id']).toBe(TRACE)
    expect(passed.traceparent.traceId).toBe(TRACE)
  })

  it.each([
    ['of another version', `01-${TRACE}-${PARENT}-01`],
    ['in capitals', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['with an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['with an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['with a longer trace id', `00-${TRACE}a-${PARENT}-01`],
    ['with a field too many', `00-${TRACE}-${PARENT}-01-00`],
    ['cut short', `00-${TRACE}-${PARENT}`],
    ['with flags that are not hex', `00-${TRACE}-${PARENT}-0x`],
    ['that is not one at all', '<script>alert(1)</script>']
  ])('takes a traceparent %s for none: a trace of its own, without the caller\'s tracestate', async (_what, traceparent) => {
    const passed = await through(all, { traceparent, tracestate: TRACESTATE })
    expect(passed.id).toMatch(ID)
    expect(passed.id).not.toBe(TRACE)
    expect(passed.upstream['x-request-id']).toBe(passed.id)
    expect(passed.traceparent.traceId).toBe(passed.id)
    expect(passed.traceparent.parentId).not.toBe(PARENT)
    expect(passed.upstream['tracestate']).toBeUndefined()
  })

  it(`sends the service exactly one traceparent when the caller sent two, and ${JOINS_REPEATED_HEADERS ? 'continues neither' : 'continues the first (nginx 1.22)'}`, async () => {
    const other = idOf('second')
    const passed = await through(all, { traceparent: [`00-${TRACE}-${PARENT}-01`, `00-${other}-${PARENT}-01`], tracestate: TRACESTATE })
    // One header line: Node would have joined two with ", ", which the pattern refuses.
    expect(passed.upstream['traceparent']).toMatch(TRACEPARENT)
    if (JOINS_REPEATED_HEADERS) {
      expect(passed.id).not.toBe(TRACE)
      expect(passed.id).not.toBe(other)
      expect(passed.traceparent.traceId).toBe(passed.id)
      expect(passed.upstream['tracestate']).toBeUndefined()
    } else {
      expect(passed.traceparent).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' })
    }
  })
})
