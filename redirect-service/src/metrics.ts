import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

// The hot path bumps plain numbers; prom-client reads them only when /metrics is scraped.

export function exposeCounter (registry: Registry, name: string, help: string, read: () => number): void {
  // eslint-disable-next-line no-new
  new Counter({
    name,
    help,
    registers: [registry],
    collect () {
      this.reset()
      this.inc(read())
    }
  })
}

export function exposeLabelledCounter<L extends string> (
  registry: Registry, name: string, help: string, label: string, read: () => Record<L, number>
): void {
  // eslint-disable-next-line no-new
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect () {
      this.reset()
      for (const [value, count] of Object.entries<number>(read())) this.inc({ [label]: value }, count)
    }
  })
}

export function exposeGauge (registry: Registry, name: string, help: string, read: () => number): void {
  // eslint-disable-next-line no-new
  new Gauge({
    name,
    help,
    registers: [registry],
    collect () {
      this.set(read())
    }
  })
}

/** The histogram of store reads behind redirects (LinkResolverOptions.onRead), one child per store. */
export function storeReadTimer (registry: Registry): (store: 'redis' | 'cassandra', seconds: number) => void {
  const histogram = new Histogram({
    name: 'shortwave_link_store_read_duration_seconds',
    help: 'Reads of a link from Redis or Cassandra by redirects not answered from memory, failed ones included',
    labelNames: ['store'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  const children = { redis: histogram.labels({ store: 'redis' }), cassandra: histogram.labels({ store: 'cassandra' }) }
  return (store, seconds) => children[store].observe(seconds)
}
