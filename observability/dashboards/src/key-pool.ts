import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import type { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat'
import type { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries'
import { build, dashboard, query, quantiles, rate, row, stat, timeseries } from './shared.ts'

// The pool of pre-claimed keys (README: How a key is handed out once): the key-worker claims keys
// in Cassandra and pools them in Redis; create-service leases chunks of them, or claims a key
// itself (a bypass) when the pool cannot serve.

/** Keys taken from the pool per second over the last hour: steadier than the 5 minutes of rate(). */
const POOL_USE = 'sum(rate(shortwave_keys_taken_total{source="pool"}[1h]))'

/** Unused keys in the pool now (the overview shows it too). */
export const poolDepth = (): StatBuilder => stat({
  title: 'Key pool depth',
  description: 'Unused keys in the Redis pool (every key-worker reports the same pool: the largest report).',
  unit: 'short'
}, query('max(shortwave_key_pool_depth)', 'keys'))

/** One conditional claim batch in Cassandra (the overview's key-worker duration, a store timing). */
export const claimBatchDuration = (): TimeseriesBuilder => timeseries({
  title: 'Claim batch duration',
  description: 'Time to claim one batch of keys in Cassandra (a lightweight transaction), retries for conflicts included.',
  unit: 's'
}, ...quantiles('shortwave_key_claim_batch_duration_seconds'))

export function keyPool (): Dashboard {
  return build(dashboard('shortwave-key-pool', 'Shortwave: key pool',
    'Pre-claimed keys: how many are pooled, how fast the key-worker claims them, how create-service takes them.')
    .withRow(row('Pool'))
    .withPanel(poolDepth())
    .withPanel(stat({
      title: 'Time to empty',
      description: 'How long the pool would last at the last hour\'s use with no refill (1 year when nothing was taken).',
      unit: 's'
    }, query(`max(shortwave_key_pool_depth) / clamp_min(${POOL_USE}, 1 / 31536000)`, 'time to empty')))
    .withPanel(stat({
      title: 'Bypasses (1h)',
      description: 'Creates that claimed a key themselves in the last hour because the pool could not serve.',
      unit: 'short'
    }, query('sum(increase(shortwave_key_bypass_total[1h]))', 'bypasses')))
    .withPanel(stat({
      title: 'Refill errors (1h)',
      description: 'Refill passes that failed in the last hour (Redis or Cassandra unavailable).',
      unit: 'short'
    }, query('sum(increase(shortwave_key_refill_errors_total[1h]))', 'errors')))
    .withPanel(timeseries({
      title: 'Pool depth',
      description: 'Unused keys in the Redis pool over time: a steady fall means the refill is not keeping up.',
      unit: 'short',
      width: 24
    }, query('max(shortwave_key_pool_depth)', 'keys')))

    .withRow(row('Refill (key-worker)'))
    .withPanel(timeseries({
      title: 'Keys claimed',
      description: 'Keys the refill claimed in Cassandra per second, and the generated keys that already existed.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_keys_claimed_total')})`, 'claimed'),
    query(`sum(${rate('shortwave_key_claim_conflicts_total')})`, 'conflicts')))
    .withPanel(timeseries({
      title: 'Claim batches',
      description: 'Conditional claim batches Cassandra answered, and refill passes that failed, per second.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_key_claim_batches_total')})`, 'batches'),
    query(`sum(${rate('shortwave_key_refill_errors_total')})`, 'failed passes')))
    .withPanel(claimBatchDuration())

    .withRow(row('Use (create-service)'))
    .withPanel(timeseries({
      title: 'Keys taken',
      description: 'Generated keys used for new links per second, by where they came from (the pool, or a bypass).',
      unit: 'ops',
      stacked: true
    }, query(`sum by (source) (${rate('shortwave_keys_taken_total')})`, '{{source}}')))
    .withPanel(timeseries({
      title: 'Bypasses',
      description: 'Creates that claimed a key themselves per second, by why the pool could not serve.',
      unit: 'ops'
    }, query(`sum by (reason) (${rate('shortwave_key_bypass_total')})`, '{{reason}}')))
    .withPanel(timeseries({
      title: 'Leases',
      description: 'Chunks of pooled keys leased per second by outcome (replayed: none of its keys was still pooled), ' +
        'and offered keys skipped because they were no longer pooled.',
      unit: 'ops'
    },
    query(`sum by (outcome) (${rate('shortwave_key_leases_total')})`, 'lease {{outcome}}'),
    query(`sum(${rate('shortwave_keys_skipped_total')})`, 'keys skipped'))))
}
