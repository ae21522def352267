import { Counter, type Registry } from 'prom-client'

// Every metric create-service exports beyond the HTTP ones (common/src/plugins/metrics.ts), on
// the app's own registry. Domain code receives the part it bumps, never the registry.

export function createMetrics (registry: Registry) {
  const registers = [registry]
  const metrics = {
    linksCreated: new Counter({
      name: 'shortwave_links_created_total',
      help: 'Links created, by kind of key',
      labelNames: ['kind'] as const,
      registers
    }),
    linksDeleted: new Counter({ name: 'shortwave_links_deleted_total', help: 'Links deleted', registers }),
    linksEdited: new Counter({ name: 'shortwave_links_edited_total', help: 'Link edits applied', registers }),
    keysTaken: new Counter({
      name: 'shortwave_keys_taken_total',
      help: 'Generated keys used for new links, by where they came from',
      labelNames: ['source'] as const,
      registers
    }),
    keyBypasses: new Counter({
      name: 'shortwave_key_bypass_total',
      help: 'Creates that had to claim a key themselves because the pool could not serve',
      labelNames: ['reason'] as const,
      registers
    }),
    keyLeases: new Counter({
      name: 'shortwave_key_leases_total',
      help: 'Chunks of pooled keys this replica tried to lease, by outcome (replayed: none of its keys was still pooled)',
      labelNames: ['outcome'] as const,
      registers
    }),
    keysSkipped: new Counter({
      name: 'shortwave_keys_skipped_total',
      help: 'Keys the pool offered that were no longer pooled in Cassandra (handed out before, then replayed by Redis)',
      registers
    })
  }
  // Every series exists from the start at 0, so rate() and alerts see the first increment.
  for (const outcome of ['leased', 'replayed']) metrics.keyLeases.inc({ outcome }, 0)
  return metrics
}
export type Metrics = ReturnType<typeof createMetrics>
