/* global __ENV */ // k6 globals
// Redirect load: a constant arrival rate of redirects over the seeded links with Zipf-like
// popularity (2% HEAD), one create per 100 redirects, and a trickle of redirects to tracer
// links whose counters are checked one by one after the run.
//   npm run load -- redirect [--rate 1000] [--duration 60s]
import { SUMMARY_STATS, seconds, steady } from './lib/traffic.js'
import { thresholds } from './lib/common.js'

export { redirect, create, tracer } from './lib/traffic.js'

const RATE = Number(__ENV.RATE || 1000)
const DURATION = __ENV.DURATION || '60s'

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: SUMMARY_STATS,
  scenarios: {
    redirects: steady('redirect', RATE, DURATION),
    creates: steady('create', RATE / 100, DURATION),
    tracers: steady('tracer', Math.min(50, RATE / 100), DURATION)
  },
  thresholds: thresholds(
    {
      'http_req_failed{scenario:redirects}': ['rate<0.001'],
      'http_req_failed{scenario:creates}': ['rate<0.001'],
      checks: ['rate>0.999'],
      // Fewer than 0.1% of the planned redirects may be dropped (k6 itself could not keep up).
      dropped_iterations: ['count<' + Math.ceil(RATE * seconds(DURATION) * 0.001)]
    },
    {
      'http_req_duration{scenario:redirects}': ['p(95)<25', 'p(99)<50'],
      'http_req_duration{scenario:creates}': ['p(99)<100']
    }
  )
}
