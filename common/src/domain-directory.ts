import { createReloader } from './reloader.ts'
import type { Domain, DomainRepository } from './domain-registry.ts'

// The registry of custom domains held in memory, so that resolving a request's host costs one Map
// lookup. Reloaded as reloader.ts says: a replica lags a change by the pub/sub delay, or by
// reloadMs at worst.

export interface DomainDirectoryOptions {
  repo: Pick<DomainRepository, 'list'>
  reloadMs: number
  /** Told when a reload fails (Cassandra down): the last registry known stays in use. */
  onError: (err: Error) => void
  /** Told after each successful load, with the new registry. */
  onLoad?: (domains: ReadonlyMap<string, Domain>) => void
}

export function createDomainDirectory (opts: DomainDirectoryOptions) {
  let domains: ReadonlyMap<string, Domain> = new Map()
  const reloader = createReloader({
    reloadMs: opts.reloadMs,
    onError: opts.onError,
    loadOnce: async () => {
      const list = await opts.repo.list()
      domains = new Map(list.map((d) => [d.host, d]))
      opts.onLoad?.(domains)
    }
  })

  return {
    ...reloader,
    get (host: string): Domain | undefined {
      return domains.get(host)
    },
    /** Registered domains, by host. */
    all (): Domain[] {
      return [...domains.values()].sort((a, b) => a.host.localeCompare(b.host))
    },
    /** Remembers a domain read or written by this process before the next load sees it. */
    put (domain: Domain): void {
      domains = new Map(domains).set(domain.host, domain)
    },
    forget (host: string): void {
      const next = new Map(domains)
      next.delete(host)
      domains = next
    }
  }
}
export type DomainDirectory = ReturnType<typeof createDomainDirectory>
