/* global __ENV */ // k6 globals
// Creation in bursts: BURST creates/s for 10 s, then a lull at a tenth of it, three times.
//   npm run load -- create [--rate 1000]
import { SUMMARY_STATS } from './lib/traffic.js'
import { thresholds } from './lib/common.js'

export { create } from './lib/traffic.js'

const BURST = Number(__ENV.RATE || 1000)
const LULL = Math.max(1, Math.round(BURST / 10))
const stages = []
for (let i = 0; i < 3; i++) {
  stages.push({ target: BURST, duration: '2s' }, { target: BURST, duration: '10s' }, { target: LULL, duration: '2s' }, { target: LULL, duration: '6s' })
}

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: SUMMARY_STATS,
  scenarios: {
    bursts: {
      executor: 'ramping-arrival-rate',
      exec: 'create',
      startRate: LULL,
      timeUnit: '1s',
      stages,
      preAllocatedVUs: Math.max(10, Math.ceil(BURST / 50)),
      maxVUs: Math.max(50, Math.ceil(BURST / 5))
    }
  },
  thresholds: thresholds(
    { http_req_failed: ['rate<0.001'], checks: ['rate>0.999'], dropped_iterations: ['count<' + Math.ceil(BURST * 0.3)] },
    { http_req_duration: ['p(95)<50', 'p(99)<100'] }
  )
}
