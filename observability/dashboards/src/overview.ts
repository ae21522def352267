import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { claimBatchDuration, poolDepth } from './key-pool.ts'
import { NOT_PROBES, build, dashboard, query, quantiles, rate, row, sel, stat, timeseries } from './shared.ts'

// RED per service: how many requests (or units of work), how many failed, how long they took.
// create-service and redirect-service from their HTTP histogram; the two workers, which answer no
// HTTP but probes, from the work their loops do. nginx exports no metrics (it has no exporter
// yet): its requests are the sum of the two services' rows.

const HTTP = 'http_request_duration_seconds'

const httpRequests = (service: string): string => `${HTTP}_count${sel(service, NOT_PROBES)}`
const http5xx = (service: string): string => `${HTTP}_count${sel(service, NOT_PROBES, 'status_code=~"5.."')}`
const http4xx = (service: string): string => `${HTTP}_count${sel(service, NOT_PROBES, 'status_code=~"4.."')}`

function httpRow (builder: ReturnType<typeof dashboard>, service: string): void {
  builder
    .withRow(row(service))
    .withPanel(timeseries({
      title: 'Requests by route',
      description: `Requests ${service} answered per second, by route pattern (probes and /metrics left out).`,
      unit: 'reqps',
      stacked: true
    }, query(`sum by (route) (${rate(httpRequests(service))})`, '{{route}}')))
    .withPanel(timeseries({
      title: 'Errors',
      description: 'Share of requests answered 5xx (the service failed) and 4xx (the caller was refused).',
      unit: 'percentunit'
    },
    query(`sum(${rate(http5xx(service))}) / sum(${rate(httpRequests(service))})`, '5xx'),
    query(`sum(${rate(http4xx(service))}) / sum(${rate(httpRequests(service))})`, '4xx')))
    .withPanel(timeseries({
      title: 'Duration',
      description: 'p50, p95 and p99 of the time from request to response, inside the service (nginx adds its own hop).',
      unit: 's'
    }, ...quantiles(HTTP, sel(service, NOT_PROBES))))
}

export function overview (): Dashboard {
  const builder = dashboard('shortwave-overview', 'Shortwave: overview',
    'Rate, errors and duration of every Shortwave service. nginx exports no metrics: its traffic is the two services\' rows.')
    .withRow(row('At a glance'))
    .withPanel(stat({
      title: 'Redirects',
      description: 'Redirect requests per second, every outcome.',
      unit: 'reqps'
    }, query(`sum(${rate('shortwave_redirects_total')})`, 'redirects')))
    .withPanel(stat({
      title: 'Redirect p99',
      description: 'p99 of redirect-service\'s answers (SLO: under 50 ms).',
      unit: 's'
    }, query(`histogram_quantile(0.99, sum by (le) (${rate(`${HTTP}_bucket${sel('redirect-service', NOT_PROBES)}`)}))`, 'p99')))
    .withPanel(stat({
      title: 'Create errors',
      description: 'Share of create-service\'s answers that were 5xx (SLO: availability 99.9 %).',
      unit: 'percentunit'
    }, query(`sum(${rate(http5xx('create-service'))}) / sum(${rate(httpRequests('create-service'))})`, '5xx')))
    .withPanel(poolDepth())

  httpRow(builder, 'redirect-service')
  builder.withPanel(timeseries({
    title: 'Redirects by outcome',
    description: 'Redirect requests by what they found: a redirect, no such link, or a key that cannot be one.',
    unit: 'reqps',
    stacked: true,
    width: 24
  }, query(`sum by (result) (${rate('shortwave_redirects_total')})`, '{{result}}')))

  httpRow(builder, 'create-service')
  builder.withPanel(timeseries({
    title: 'Link changes',
    description: 'Links created (by kind of key), edited and deleted per second.',
    unit: 'ops',
    width: 24
  },
  query(`sum by (kind) (${rate('shortwave_links_created_total')})`, 'created ({{kind}})'),
  query(`sum(${rate('shortwave_links_edited_total')})`, 'edited'),
  query(`sum(${rate('shortwave_links_deleted_total')})`, 'deleted')))

  return build(builder
    .withRow(row('key-worker'))
    .withPanel(timeseries({
      title: 'Keys claimed',
      description: 'Keys the refill claimed in Cassandra per second, and the conditional batches that claimed them.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_keys_claimed_total')})`, 'keys'),
    query(`sum(${rate('shortwave_key_claim_batches_total')})`, 'batches')))
    .withPanel(timeseries({
      title: 'Failed passes',
      description: 'Refill, click-fold and owner-index passes that failed per second (each is retried on its next tick).',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_key_refill_errors_total')})`, 'refill'),
    query(`sum(${rate('shortwave_click_fold_errors_total{reason="pass"}')})`, 'fold'),
    query(`sum(${rate('shortwave_owner_index_sweep_errors_total')})`, 'owner sweep')))
    .withPanel(claimBatchDuration())

    .withRow(row('event-worker'))
    .withPanel(timeseries({
      title: 'Webhook attempts',
      description: 'Delivery attempts per second by outcome.',
      unit: 'ops',
      stacked: true
    }, query(`sum by (outcome) (${rate('shortwave_webhook_attempt_duration_seconds_count')})`, '{{outcome}}')))
    .withPanel(timeseries({
      title: 'Failed attempts',
      description: 'Share of delivery attempts not delivered (refused, failed, gave up, endpoint disabled).',
      unit: 'percentunit'
    }, query(
      `sum(${rate('shortwave_webhook_attempt_duration_seconds_count{outcome!="delivered"}')}) / ` +
      `sum(${rate('shortwave_webhook_attempt_duration_seconds_count')})`, 'not delivered')))
    .withPanel(timeseries({
      title: 'Attempt duration',
      description: 'Time from sending a delivery to its answer (or its timeout), by outcome.',
      unit: 's'
    }, ...quantiles('shortwave_webhook_attempt_duration_seconds', '{outcome!="endpoint_disabled"}')))
    .withPanel(timeseries({
      title: 'Webhook queue',
      description: 'Deliveries queued by the fan-out, events dropped (by why) and endpoints disabled, per second.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_webhook_deliveries_queued_total')})`, 'queued'),
    query(`sum by (reason) (${rate('shortwave_webhook_events_dropped_total')})`, 'dropped ({{reason}})'),
    query(`sum(${rate('shortwave_webhooks_disabled_total')})`, 'endpoints disabled')))
    .withPanel(timeseries({
      title: 'In flight and shards',
      description: 'Deliveries waiting for an answer, and queue shards held, per worker.',
      unit: 'short'
    },
    query('sum by (instance) (shortwave_webhook_deliveries_in_flight)', 'in flight {{instance}}'),
    query('sum by (instance) (shortwave_webhook_shards_held)', 'shards {{instance}}')))
    .withPanel(timeseries({
      title: 'Queue and lease errors',
      description: 'Queue passes (Cassandra down) and lease rounds that failed, per second.',
      unit: 'ops'
    },
    query(`sum(${rate('shortwave_webhook_pass_errors_total')})`, 'queue pass'),
    query(`sum(${rate('shortwave_webhook_lease_errors_total')})`, 'lease'))))
}
