import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { ProcessorMetrics } from './processor.ts'

// Every metric the event-worker exports beyond the HTTP ones (common/src/plugins/metrics.ts).

export interface MetricSources {
  shardsHeld: () => number
  inFlight: () => number
}

export type WorkerMetrics = ProcessorMetrics & { gauges: Gauge[], passErrors: Counter, leaseErrors: Counter }

export function createMetrics (registry: Registry, read: MetricSources): WorkerMetrics {
  const registers = [registry]
  const gauges = [
    new Gauge({ name: 'shortwave_webhook_shards_held', help: 'Queue shards this worker holds the lease of', registers, collect () { this.set(read.shardsHeld()) } }),
    new Gauge({ name: 'shortwave_webhook_deliveries_in_flight', help: 'Deliveries waiting for an answer', registers, collect () { this.set(read.inFlight()) } })
  ]
  const fannedOut = new Counter({ name: 'shortwave_webhook_deliveries_queued_total', help: 'Deliveries queued by the fan-out of events', registers })
  const dropped = new Counter({ name: 'shortwave_webhook_events_dropped_total', help: 'Events not delivered: their change never got stored, or no webhook wanted them', labelNames: ['reason'] as const, registers })
  const attempts = new Histogram({
    name: 'shortwave_webhook_attempt_duration_seconds',
    help: 'Delivery attempts by outcome, and how long each took',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers
  })
  const disabled = new Counter({ name: 'shortwave_webhooks_disabled_total', help: 'Endpoints disabled after failing for too long', registers })
  return {
    gauges,
    fannedOut: (n) => fannedOut.inc(n),
    dropped: (reason) => dropped.inc({ reason }),
    attempted: (outcome, seconds) => attempts.observe({ outcome }, seconds),
    disabled: () => disabled.inc(),
    passErrors: new Counter({ name: 'shortwave_webhook_pass_errors_total', help: 'Queue passes that failed (Cassandra down)', registers }),
    leaseErrors: new Counter({ name: 'shortwave_webhook_lease_errors_total', help: 'Lease rounds that failed', registers })
  }
}
