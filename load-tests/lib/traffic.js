/* global open */ // k6 globals
// What one visitor does, shared by the redirect, spike and soak scenarios.
import http from 'k6/http'
import { check } from 'k6'
import { SharedArray } from 'k6/data'
import { Counter } from 'k6/metrics'
import { BASE_URL, NO_FOLLOW, createLink, seededKeys, tracerKeys, uniqueSuffix, zipfIndex } from './common.js'

const keys = seededKeys()
const tracers = tracerKeys()
// Who follows each tracer link (visitors.json): a fixed visitor per link, so its every dimension is known.
const visitors = new SharedArray('tracer visitors', () => JSON.parse(open(import.meta.resolve('./visitors.json'))).visitors)

// Compared with the click counters after the run (load-tests/clicks.ts): every 302 to a GET
// must be counted once, a HEAD never.
export const countedGets = new Counter('redirect_gets_302')
export const heads = new Counter('redirect_heads_302')
export const tracerGets = new Counter('tracer_gets_302')

// One request in HEAD_EVERY is a HEAD (link checkers, unfurlers that probe first).
const HEAD_EVERY = 50

function follow (key, method, tags, visitor = null) {
  const headers = visitor === null
    ? {}
    : { 'user-agent': visitor.userAgent, 'x-forwarded-for': visitor.address, ...(visitor.referer ? { referer: visitor.referer } : {}) }
  const query = visitor?.query ? `?${visitor.query}` : ''
  const res = http.request(method, `${BASE_URL}/${key}${query}`, null, { ...NO_FOLLOW, tags, headers })
  const ok = check(res, { 'redirect: 302 with a Location': (r) => r.status === 302 && Boolean(r.headers.Location) })
  if (ok) (method === 'GET' ? countedGets : heads).add(1)
  return ok
}

/** One redirect of a seeded link, popular links far more often than the tail. */
export function redirect () {
  const key = keys[zipfIndex(keys.length)]
  follow(key, Math.random() * HEAD_EVERY < 1 ? 'HEAD' : 'GET', { name: 'redirect' })
}

/**
 * A redirect of a tracer link, chosen uniformly, by the link's own visitor (a browser, or a bot)
 * from its address, referrer and UTM tags: the counters of each are checked one by one afterwards.
 */
export function tracer () {
  if (tracers.length === 0) return
  const index = Math.floor(Math.random() * tracers.length)
  const method = Math.random() * HEAD_EVERY < 1 ? 'HEAD' : 'GET'
  if (follow(tracers[index], method, { name: 'tracer' }, visitors[index % visitors.length]) && method === 'GET') tracerGets.add(1)
}

/**
 * One create with a generated key. The link lives an hour: a load test creates tens of thousands,
 * and their Redis cache entries (capped at the link's expiry) must not fill the local Redis.
 */
export function create () {
  const res = createLink(`https://example.com/load/${uniqueSuffix()}`, { ttlSeconds: 3600 }, { tags: { name: 'create' } })
  check(res, { 'create: 201': (r) => r.status === 201 })
}

/** One metadata read of a seeded link. */
export function metadata () {
  const res = http.get(`${BASE_URL}/api/v1/links/${keys[zipfIndex(keys.length)]}`, { tags: { name: 'metadata' } })
  check(res, { 'metadata: 200': (r) => r.status === 200 })
}

export const SUMMARY_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count']

/**
 * A constant-arrival-rate scenario; VUs sized for the rate (each VU does one request at a time).
 * Enough are allocated up front for 100 ms per request: a VU started mid-run takes long enough
 * to initialise that k6 drops iterations meanwhile.
 */
export function steady (exec, rate, duration, extra = {}) {
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate: Math.max(1, Math.round(rate)),
    timeUnit: '1s',
    duration,
    preAllocatedVUs: Math.min(1000, Math.max(2, Math.ceil(rate / 10))),
    maxVUs: Math.min(3000, Math.max(10, Math.ceil(rate / 2))),
    ...extra
  }
}

/** Seconds in a k6 duration such as "90s", "5m" or "1h30m". */
export function seconds (duration) {
  let total = 0
  for (const [, n, unit] of String(duration).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit]
  }
  return total
}
