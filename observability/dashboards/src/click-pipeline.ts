import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { build, dashboard, query, rate, row, timeseries } from './shared.ts'

// A click's way to the statistics: redirect-service counts it in memory, flushes the buffer into a
// Redis pending hash (with its dimensions when CLICK_DIMENSIONS is on), and the key-worker folds
// the hash into Cassandra's counters and rollups. No metric reads the pending hash itself: what is
// flushed and not yet folded shows as the gap between the two rates.

const FLUSHED = `sum(${rate('shortwave_clicks_flushed_total')})`
const FOLDED = `sum(${rate('shortwave_clicks_folded_total')})`

export function clickPipeline (): Dashboard {
  return build(dashboard('shortwave-click-pipeline', 'Shortwave: click pipeline',
    'Clicks from the redirect to the statistics: buffered, flushed to Redis, folded into Cassandra; analytics dimensions.')
    .withRow(row('Flow'))
    .withPanel(timeseries({
      title: 'Clicks per stage',
      description: 'Clicks counted in memory, flushed to Redis (redirect-service) and folded into Cassandra (key-worker), per second.',
      unit: 'cps',
      width: 12
    },
    query(`sum(${rate('shortwave_clicks_recorded_total')})`, 'recorded'),
    query(FLUSHED, 'flushed'),
    query(FOLDED, 'folded')))
    .withPanel(timeseries({
      title: 'Fold lag growth',
      description: 'Clicks flushed minus clicks folded, per second: above zero the pending hash in Redis grows ' +
        '(the key-worker falls behind or is down); below zero it is being caught up.',
      unit: 'cps',
      width: 12
    }, query(`${FLUSHED} - ${FOLDED}`, 'flushed − folded')))
    .withPanel(timeseries({
      title: 'Click buffer',
      description: 'Key/day fields waiting in each redirect-service\'s memory for the next flush.',
      unit: 'short',
      width: 12
    }, query('sum by (instance) (shortwave_click_buffer_fields)', '{{instance}}')))
    .withPanel(timeseries({
      title: 'Folded by audience',
      description: 'Clicks folded into Cassandra per second, people and bots apart.',
      unit: 'cps',
      stacked: true,
      width: 12
    }, query(`sum by (audience) (${rate('shortwave_clicks_folded_total')})`, '{{audience}}')))

    .withRow(row('Failures'))
    .withPanel(timeseries({
      title: 'Flush errors',
      description: 'Flushes that failed in part or whole per second (their clicks are retried), and clicks dropped.',
      unit: 'ops',
      width: 12
    },
    query(`sum(${rate('shortwave_click_flush_errors_total')})`, 'flush errors'),
    query(`sum(${rate('shortwave_clicks_dropped_total')})`, 'clicks dropped')))
    .withPanel(timeseries({
      title: 'Fold errors',
      description: 'Fold passes that failed (retried next tick), malformed fields dropped and retention passes failed, per second.',
      unit: 'ops',
      width: 12
    }, query(`sum by (reason) (${rate('shortwave_click_fold_errors_total')})`, '{{reason}}')))

    .withRow(row('Analytics'))
    .withPanel(timeseries({
      title: 'Dimensions derived and folded',
      description: 'Clicks whose dimensions (referrer, country, device…) a flush derived, and clicks by people whose ' +
        'dimensions were folded into the rollups, per second: a lasting gap is dimensions pending in Redis.',
      unit: 'cps'
    },
    query(`sum(${rate('shortwave_click_analytics_total{event="derived"}')})`, 'derived'),
    query(`sum(${rate('shortwave_click_dimensions_folded_total')})`, 'folded')))
    .withPanel(timeseries({
      title: 'Analytics events',
      description: 'The flush\'s analytics work per second: clicks derived, clicks past CLICK_DIMENSIONS_MAX_PENDING ' +
        '(dimensions unknown), user agents parsed, dimension counts and visitor hashes dropped while Redis was failing.',
      unit: 'ops'
    }, query(`sum by (event) (${rate('shortwave_click_analytics_total')})`, '{{event}}')))
    .withPanel(timeseries({
      title: 'Statistics expired',
      description: 'Months of a link\'s or an owner\'s analytics deleted past STATS_RETENTION_MONTHS, per hour.',
      unit: 'short'
    }, query('sum(increase(shortwave_stats_expired_total[1h]))', 'months'))))
}
