/* global __ENV */ // k6 globals
// Soak: a steady, realistic mix for a long time; catches leaks, growing latency and backlogs
// (click fold, key pool) that a short run hides. 2 minutes by default, 30 with --long.
//   npm run load -- soak [--long] [--rate 500] [--duration 10m]
import { SUMMARY_STATS, steady } from './lib/traffic.js'
import { thresholds } from './lib/common.js'

export { redirect, create, metadata, tracer } from './lib/traffic.js'

const RATE = Number(__ENV.RATE || 500)
const DURATION = __ENV.DURATION || '2m'

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: SUMMARY_STATS,
  scenarios: {
    redirects: steady('redirect', RATE, DURATION),
    creates: steady('create', RATE / 100, DURATION),
    reads: steady('metadata', RATE / 100, DURATION),
    tracers: steady('tracer', Math.min(20, RATE / 100), DURATION)
  },
  thresholds: thresholds(
    { http_req_failed: ['rate<0.001'], checks: ['rate>0.999'] },
    {
      'http_req_duration{scenario:redirects}': ['p(95)<25', 'p(99)<50'],
      'http_req_duration{scenario:creates}': ['p(99)<100'],
      'http_req_duration{scenario:reads}': ['p(99)<100']
    }
  )
}
