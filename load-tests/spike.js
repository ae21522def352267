/* global __ENV */ // k6 globals
// Spike: steady redirects, then ten times as many within 5 s, held for 20 s, then back. Nothing
// may fail; latency may rise during the spike but must come back.
//   npm run load -- spike [--rate 500]   (the base rate; the spike is ten times it)
import { SUMMARY_STATS, steady } from './lib/traffic.js'
import { thresholds } from './lib/common.js'

export { redirect, create } from './lib/traffic.js'

const BASE = Number(__ENV.RATE || 500)
const PEAK = BASE * 10

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: SUMMARY_STATS,
  scenarios: {
    redirects: {
      executor: 'ramping-arrival-rate',
      exec: 'redirect',
      startRate: BASE,
      timeUnit: '1s',
      stages: [
        { target: BASE, duration: '10s' },
        { target: PEAK, duration: '5s' },
        { target: PEAK, duration: '20s' },
        { target: BASE, duration: '5s' },
        { target: BASE, duration: '15s' }
      ],
      preAllocatedVUs: Math.max(20, Math.ceil(PEAK / 50)),
      maxVUs: Math.max(100, Math.ceil(PEAK / 5))
    },
    creates: steady('create', BASE / 100, '55s')
  },
  thresholds: thresholds(
    { 'http_req_failed{scenario:redirects}': ['rate<0.001'], 'http_req_failed{scenario:creates}': ['rate<0.001'], checks: ['rate>0.999'] },
    { 'http_req_duration{scenario:redirects}': ['p(99)<250'] }
  )
}
