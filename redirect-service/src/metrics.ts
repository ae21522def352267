import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { ClickBuffer } from './click-buffer.ts'
import type { LookupStats } from './link-resolver.ts'

// Every metric redirect-service exports beyond the HTTP ones (common/src/plugins/metrics.ts), on
// the app's own registry. The hot path bumps plain numbers; the counters below read them only
// when /metrics is scraped.

/** Redirect requests by outcome, tallied by the redirect route. */
export interface RedirectOutcomes {
  redirect: number
  not_found: number
  invalid: number
}

export interface MetricSources {
  lookups: () => LookupStats
  clicks: () => Pick<ClickBuffer, 'stats' | 'bufferedFields'>
  redirects: () => RedirectOutcomes
  /** Deleted keys dropped from the local cache on create-service's message. */
  invalidations: () => number
  /** Where clicks come from (null with CLICK_DIMENSIONS=false). */
  analytics: () => AnalyticsStats | null
}

export interface AnalyticsStats {
  /** Clicks whose dimensions were derived in a flush. */
  derived: number
  /** Clicks counted past CLICK_DIMENSIONS_MAX_PENDING, their dimensions `unknown`. */
  overflow: number
  /** User agents parsed (not found in the cache). */
  userAgentsParsed: number
  /** Dimension counts lost because their buffer was full while Redis was failing. */
  dimensionsDropped: number
  /** Visitor hashes lost because their buffer was full while Redis was failing. */
  visitorsDropped: number
}

type Read<T> = () => T

function counterOf (registers: Registry[], name: string, help: string, read: Read<number>): Counter {
  return new Counter({
    name,
    help,
    registers,
    collect () {
      this.reset()
      this.inc(read())
    }
  })
}

function labelledCounterOf (
  registers: Registry[], name: string, help: string, label: string, read: Read<object>
): Counter {
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect () {
      this.reset()
      const counts = Object.entries<number>(read() as Record<string, number>)
      for (const [value, count] of counts) this.inc({ [label]: value }, count)
    }
  })
}

export function createMetrics (registry: Registry, read: MetricSources) {
  const registers = [registry]
  const storeReads = new Histogram({
    name: 'shortwave_link_store_read_duration_seconds',
    help: 'Reads of a link from Redis or Cassandra by redirects not answered from memory, failed ones included',
    labelNames: ['store'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers
  })
  return {
    /** One child per store, so a read is observed without hashing a label object (LinkResolverOptions.onRead). */
    storeReads: { redis: storeReads.labels({ store: 'redis' }), cassandra: storeReads.labels({ store: 'cassandra' }) },
    lookups: labelledCounterOf(registers, 'shortwave_link_lookups_total', 'Link lookups by the layer that answered', 'source', () => {
      const { local, redis, cassandra } = read.lookups()
      return { local, redis, cassandra }
    }),
    cacheErrors: counterOf(registers, 'shortwave_link_cache_errors_total',
      'Redis cache reads and writes that failed (lookups carried on without Redis)', () => read.lookups().cacheErrors),
    clicksRecorded: counterOf(registers, 'shortwave_clicks_recorded_total', 'Clicks counted in memory', () => read.clicks().stats.recorded),
    clicksFlushed: counterOf(registers, 'shortwave_clicks_flushed_total', 'Clicks added to the Redis pending hash',
      () => read.clicks().stats.flushed),
    clickFlushErrors: counterOf(registers, 'shortwave_click_flush_errors_total', 'Flushes that failed in part or whole (their clicks are retried)',
      () => read.clicks().stats.flushErrors),
    clicksDropped: counterOf(registers, 'shortwave_clicks_dropped_total', 'Clicks lost because the buffer was full while Redis was failing',
      () => read.clicks().stats.dropped),
    clickBufferFields: new Gauge({
      name: 'shortwave_click_buffer_fields',
      help: 'Key/day fields waiting in memory for the next flush',
      registers,
      collect () {
        this.set(read.clicks().bufferedFields)
      }
    }),
    clickDimensions: labelledCounterOf(registers, 'shortwave_click_analytics_total',
      'Analytics work of the flush: clicks derived, clicks past the bound (dimensions unknown), user agents parsed, ' +
      'dimension counts and visitor hashes dropped while Redis was failing', 'event', () => {
        const stats = read.analytics()
        if (stats === null) return {}
        return {
          derived: stats.derived,
          overflow: stats.overflow,
          user_agent_parsed: stats.userAgentsParsed,
          dimension_dropped: stats.dimensionsDropped,
          visitor_dropped: stats.visitorsDropped
        }
      }),
    invalidations: counterOf(registers, 'shortwave_link_invalidations_total',
      'Deleted keys dropped from the local cache on create-service\'s message', read.invalidations),
    redirects: labelledCounterOf(registers, 'shortwave_redirects_total', 'Redirect requests by outcome', 'result', read.redirects)
  }
}
export type Metrics = ReturnType<typeof createMetrics>
