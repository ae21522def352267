import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { claimBatchDuration } from './key-pool.ts'
import { build, dashboard, query, quantiles, rate, row, timeseries } from './shared.ts'

// What the services see of Cassandra and Redis, and of their own Node runtime. The services time
// the store reads on the redirect path and count the failures of every loop that writes to the
// stores; Cassandra's and Redis's own figures come from their exporters, not from here. Whether a
// service is up is Prometheus's `up` for its scrape job (readiness, /readyz, is not a metric).

export function stores (): Dashboard {
  return build(dashboard('shortwave-stores', 'Shortwave: stores and runtime',
    'Cassandra and Redis as the services see them (read timings, failures), the event loop, and whether each target is up.')
    .withRow(row('Reads on the redirect path'))
    .withPanel(timeseries({
      title: 'Store read duration',
      description: 'Reads of a link from Redis or Cassandra by redirects not answered from memory, failed ones included: ' +
        'the first place to look when the redirect p99 rises.',
      unit: 's'
    }, ...quantiles('shortwave_link_store_read_duration_seconds', '', ['store'])))
    .withPanel(timeseries({
      title: 'Store reads',
      description: 'Reads of a link per second, by store.',
      unit: 'ops'
    }, query(`sum by (store) (${rate('shortwave_link_store_read_duration_seconds_count')})`, '{{store}}')))
    .withPanel(timeseries({
      title: 'Lookups by layer',
      description: 'Link lookups per second by the layer that answered: the local cache, Redis, or Cassandra.',
      unit: 'ops',
      stacked: true
    }, query(`sum by (source) (${rate('shortwave_link_lookups_total')})`, '{{source}}')))

    .withRow(row('Failures'))
    .withPanel(timeseries({
      title: 'Redis failures',
      description: 'Per second: cache reads and writes that failed (lookups carried on without Redis) and click flushes that failed.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_link_cache_errors_total')})`, 'link cache'),
    query(`sum(${rate('shortwave_click_flush_errors_total')})`, 'click flush')))
    .withPanel(timeseries({
      title: 'Cassandra failures',
      description: 'Per second: webhook queue passes and lease rounds, click-fold passes and owner-index sweeps that failed.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_webhook_pass_errors_total')})`, 'webhook queue'),
    query(`sum(${rate('shortwave_webhook_lease_errors_total')})`, 'webhook lease'),
    query(`sum(${rate('shortwave_click_fold_errors_total{reason="pass"}')})`, 'click fold'),
    query(`sum(${rate('shortwave_owner_index_sweep_errors_total')})`, 'owner sweep')))
    .withPanel(timeseries({
      title: 'Either store',
      description: 'Key refill passes that failed per second (Redis or Cassandra unavailable).',
      unit: 'ops'
    }, query(`sum(${rate('shortwave_key_refill_errors_total')})`, 'key refill')))

    .withRow(row('Cassandra work of the key-worker'))
    .withPanel(claimBatchDuration())
    .withPanel(timeseries({
      title: 'Owner index sweep',
      description: 'Time a complete pass over the owner index took.',
      unit: 's'
    }, ...quantiles('shortwave_owner_index_sweep_duration_seconds')))
    .withPanel(timeseries({
      title: 'Owner index entries',
      description: 'Entries the sweep read, and those it dropped by why no listing would show them, per second.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_owner_index_scanned_total')})`, 'scanned'),
    query(`sum by (reason) (${rate('shortwave_owner_index_removed_total')})`, 'removed ({{reason}})')))

    .withRow(row('Runtime'))
    .withPanel(timeseries({
      title: 'Targets up',
      description: 'Scrape targets Prometheus reached, by job (1 each): a service down, or not answering /metrics.',
      unit: 'short'
    }, query('sum by (job) (up)', '{{job}}')))
    .withPanel(timeseries({
      title: 'Event-loop lag p99',
      description: 'p99 of the event-loop delay each process measured: work that blocks the loop delays every request.',
      unit: 's'
    }, query('max by (service) (nodejs_eventloop_lag_p99_seconds)', '{{service}}')))
    .withPanel(timeseries({
      title: 'CPU',
      description: 'CPU seconds per second each service used (1 = one core), every replica added up.',
      unit: 'percentunit'
    }, query(`sum by (service) (${rate('process_cpu_seconds_total')})`, '{{service}}')))
    .withPanel(timeseries({
      title: 'Memory',
      description: 'Resident memory of the largest replica of each service.',
      unit: 'bytes'
    }, query('max by (service) (process_resident_memory_bytes)', '{{service}}')))
    .withPanel(timeseries({
      title: 'Heap used',
      description: 'V8 heap in use, largest replica of each service.',
      unit: 'bytes'
    }, query('max by (service) (nodejs_heap_size_used_bytes)', '{{service}}')))
    .withPanel(timeseries({
      title: 'Garbage collection',
      description: 'Share of time each service spent collecting garbage, by kind.',
      unit: 'percentunit'
    }, query(`sum by (service, kind) (${rate('nodejs_gc_duration_seconds_sum')})`, '{{service}} {{kind}}'))))
}
