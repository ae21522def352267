import { Resolver } from 'node:dns/promises'

/**
 * Every address a host name resolves to (A and AAAA); empty when the name does not exist or has
 * no address. Rejects when DNS could not answer (a timeout, a failing server): the caller cannot
 * tell then whether the name is safe.
 */
export type ResolveHost = (host: string) => Promise<string[]>

export interface DnsResolverOptions {
  /** How long one DNS server may take to answer. */
  timeoutMs: number
  /** DNS servers ("127.0.0.1:5353") instead of the system's (tests). */
  servers?: readonly string[]
}

// Answers that mean "no such address", as opposed to "could not find out".
const NO_ADDRESS = new Set(['ENOTFOUND', 'ENODATA'])

/**
 * Asks DNS directly (c-ares), not getaddrinfo: a lookup that hangs then costs a timer, not one of
 * libuv's four threads that file system and crypto calls share, and it gives up after timeoutMs.
 * /etc/hosts is not read: what matters is what the name means to the people who follow the link.
 */
export function createDnsResolver (opts: DnsResolverOptions): ResolveHost {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 })
  if (opts.servers) resolver.setServers(opts.servers)
  return async (host) => {
    const answers = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)])
    const failed = answers.find((answer) => answer.status === 'rejected' && !NO_ADDRESS.has((answer.reason as { code?: string }).code ?? ''))
    if (failed) throw (failed as PromiseRejectedResult).reason
    return answers.flatMap((answer) => answer.status === 'fulfilled' ? answer.value : [])
  }
}
