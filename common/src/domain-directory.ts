import type { Domain, DomainRepository } from './domain-registry.ts'

// The registry of custom domains held in memory, so that resolving a request's host costs one Map
// lookup. Loaded at start-up, again whenever a replica of create-service announces a change
// (pub/sub, see the services' plugins) and every `reloadMs` in case that message was missed: a
// replica lags a change by the pub/sub delay, or by reloadMs at worst.

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
  let timer: NodeJS.Timeout | undefined
  let loading: Promise<void> | null = null
  let again = false
  let closed = false

  async function loadOnce (): Promise<void> {
    const list = await opts.repo.list()
    domains = new Map(list.map((d) => [d.host, d]))
    opts.onLoad?.(domains)
  }

  /** Reloads; a change announced during a load starts one more, so the last change is never missed. */
  function load (): Promise<void> {
    if (loading !== null) {
      again = true
      return loading
    }
    loading = (async () => {
      try {
        do {
          again = false
          await loadOnce()
        } while (again)
      } finally {
        loading = null
      }
    })()
    return loading
  }

  function reloadLater (): void {
    if (closed) return
    timer = setTimeout(() => {
      load().catch(opts.onError).finally(reloadLater)
    }, opts.reloadMs).unref()
  }

  return {
    load,
    /** Reloads now, in the background (a change was announced). */
    changed (): void {
      load().catch(opts.onError)
    },
    /** Starts the periodic reload. */
    start (): void {
      if (timer === undefined) reloadLater()
    },
    close (): void {
      closed = true
      clearTimeout(timer)
      timer = undefined
    },
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
