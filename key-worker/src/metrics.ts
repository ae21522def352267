import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { STALE_REASONS } from './owner-index-sweeper.ts'

// Every metric the key-worker exports beyond the HTTP ones (common/src/plugins/metrics.ts), on
// the app's own registry; the loops receive the object, never the registry.

export interface MetricSources {
  /** Unused keys in the pool; read when /metrics is scraped. */
  poolDepth: () => Promise<number>
}

export function createMetrics (registry: Registry, read: MetricSources) {
  const registers = [registry]
  const metrics = {
    poolDepth: new Gauge({
      name: 'shortwave_key_pool_depth',
      help: 'Unused keys in the Redis pool (its chunks times CLAIM_BATCH_SIZE)',
      registers,
      async collect () {
        // With Redis down the last known depth is still the best answer; a scrape must not fail.
        try {
          this.set(await read.poolDepth())
        } catch {}
      }
    }),
    claimed: new Counter({ name: 'shortwave_keys_claimed_total', help: 'Keys claimed in Cassandra by this worker', registers }),
    conflicts: new Counter({ name: 'shortwave_key_claim_conflicts_total', help: 'Generated keys that already existed (an alias or another claim)', registers }),
    batches: new Counter({ name: 'shortwave_key_claim_batches_total', help: 'Conditional claim batches Cassandra answered', registers }),
    batchDuration: new Histogram({
      name: 'shortwave_key_claim_batch_duration_seconds',
      help: 'Time to claim one batch of keys, retries for conflicts included',
      buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    }),
    refillErrors: new Counter({ name: 'shortwave_key_refill_errors_total', help: 'Refill passes that failed (Redis or Cassandra unavailable)', registers }),
    clicksFolded: new Counter({
      name: 'shortwave_clicks_folded_total',
      help: 'Clicks moved from Redis into Cassandra counters',
      labelNames: ['audience'] as const,
      registers
    }),
    dimensionsFolded: new Counter({
      name: 'shortwave_click_dimensions_folded_total',
      help: 'Clicks by people whose dimensions (referrer, country, device…) were moved into the analytics rollups',
      registers
    }),
    statsExpired: new Counter({
      name: 'shortwave_stats_expired_total',
      help: 'Months of a link\'s or an owner\'s analytics deleted past STATS_RETENTION_MONTHS',
      registers
    }),
    foldErrors: new Counter({ name: 'shortwave_click_fold_errors_total', help: 'Fold passes that failed (retried next tick); malformed fields dropped', labelNames: ['reason'] as const, registers }),
    ownerIndexScanned: new Counter({ name: 'shortwave_owner_index_scanned_total', help: 'Owner index entries the sweep read', registers }),
    ownerIndexRemoved: new Counter({
      name: 'shortwave_owner_index_removed_total',
      help: 'Owner index entries the sweep dropped, by why no listing would show them',
      labelNames: ['reason'] as const,
      registers
    }),
    ownerSweepDuration: new Histogram({
      name: 'shortwave_owner_index_sweep_duration_seconds',
      help: 'Time a complete pass over the owner index took (passes stopped by shutdown left out)',
      buckets: [1, 10, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200],
      registers
    }),
    ownerSweepErrors: new Counter({ name: 'shortwave_owner_index_sweep_errors_total', help: 'Owner index sweeps that failed (retried after the interval)', registers })
  }
  // Every series exists from the start at 0, so rate() and alerts see the first increment.
  for (const audience of ['people', 'bot']) metrics.clicksFolded.inc({ audience }, 0)
  for (const reason of ['pass', 'malformed_field', 'malformed_dimension', 'retention']) metrics.foldErrors.inc({ reason }, 0)
  for (const reason of STALE_REASONS) metrics.ownerIndexRemoved.inc({ reason }, 0)
  return metrics
}
export type Metrics = ReturnType<typeof createMetrics>
