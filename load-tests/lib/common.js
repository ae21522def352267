/* global __ENV, open */ // k6 globals
// Shared by the k6 scenarios: where the stack is, the seeded keys, a Zipf-like pick, and thresholds.
import http from 'k6/http'
import { SharedArray } from 'k6/data'

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8080').replace(/\/$/, '')
/** `TIMING=off` drops every latency threshold (npm test: errors and checks only, never timing). */
export const TIMING = __ENV.TIMING !== 'off'

/** The keys `node load-tests/seed.ts` wrote to KEYS_FILE (one per line); none without KEYS_FILE. */
export function seededKeys () {
  const file = __ENV.KEYS_FILE
  if (!file) return []
  return new SharedArray('seeded keys', () => {
    const keys = open(file).split('\n').filter((k) => k.length > 0)
    if (keys.length === 0) throw new Error(`${file} holds no keys: run npm run load -- seed first`)
    return keys
  })
}

/** Links created by `node load-tests/clicks.ts prepare`, whose clicks are compared after the run. */
export function tracerKeys () {
  return new SharedArray('tracer keys', () => {
    const file = __ENV.TRACERS_FILE
    return file ? JSON.parse(open(file)).keys : []
  })
}

/**
 * Index in [0, n) with P(i) roughly proportional to 1/(i+1) (Zipf, s = 1): a few links get most
 * of the traffic and a long tail gets the rest, as with real short links. Log-uniform inversion:
 * O(1), no table, fine for a million keys.
 */
export function zipfIndex (n) {
  return Math.min(n - 1, Math.floor(Math.exp(Math.random() * Math.log(n + 1))) - 1)
}

/** Thresholds: error rates and checks always; latency only when TIMING is on. */
export function thresholds (errors, latency = {}) {
  const out = { ...errors }
  if (TIMING) {
    for (const [metric, rules] of Object.entries(latency)) out[metric] = (out[metric] || []).concat(rules)
  }
  return out
}

/** A redirect that is not followed: the 302 and its Location are what is measured. */
export const NO_FOLLOW = { redirects: 0 }

export const JSON_HEADERS = { 'content-type': 'application/json' }

export function createLink (url, extra = {}, params = {}) {
  return http.post(`${BASE_URL}/api/v1/links`, JSON.stringify({ url, ...extra }), {
    headers: JSON_HEADERS,
    ...params
  })
}

export function uniqueSuffix () {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`
}
