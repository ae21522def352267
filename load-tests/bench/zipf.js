/* global __ENV */ // k6 globals
// The benchmark's fixed-rate latency probe (bench.ts): RATE redirects/s through nginx, Zipf
// popularity over KEYS_FILE. Open model, so a slow answer does not slow the arrivals down.
import http from 'k6/http'
import { check } from 'k6'
import { BASE_URL, NO_FOLLOW, seededKeys, zipfIndex } from '../lib/common.js'
import { SUMMARY_STATS, steady } from '../lib/traffic.js'

const keys = seededKeys()

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: SUMMARY_STATS,
  scenarios: { zipf: steady('zipf', Number(__ENV.RATE || 3000), __ENV.DURATION || '20s') },
  thresholds: { checks: ['rate>0.999'] }
}

export function zipf () {
  const res = http.get(`${BASE_URL}/${keys[zipfIndex(keys.length)]}`, { ...NO_FOLLOW, tags: { name: 'zipf' } })
  check(res, { 'redirect: 302': (r) => r.status === 302 })
}
