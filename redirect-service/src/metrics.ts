import { Counter, Gauge, type Registry } from 'prom-client'

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
