import {
  DefaultDomainError, DomainExistsError, DomainNotFoundError, InvalidDomainError
} from '@shortwave/common/errors'
import type { DomainDirectory } from '@shortwave/common/domain-directory'
import type { Domain, DomainRepository } from '@shortwave/common/domain-registry'
import { DEFAULT_DOMAIN, normalizeHost } from '@shortwave/common/domains'
import type { UrlPolicy } from '@shortwave/common/url-policy'

// The custom domains as create-service sees them: registering and removing them (admin), and
// turning the host a client names (`domain` in a body, `?domain=`) into the domain stored with the
// link ('' for the default domain), and back into a host and a short URL base for answers.
//
// Removing a domain keeps its links: their rows stay where they are, unreachable (the host answers
// 404, `?domain=` names no domain) until the host is registered again, which brings them back with
// their clicks. Refusing the removal while links exist would need a count of every domain's links
// kept exact across creates and deletes, or a scan; keeping them costs nothing and loses nothing.

export interface DomainServiceOptions {
  repo: Pick<DomainRepository, 'list' | 'get' | 'insert' | 'remove'>
  /** The registry in memory: a host found there is not read again. */
  directory: Pick<DomainDirectory, 'get' | 'put' | 'forget'>
  /** PUBLIC_BASE_URL's origin: the default domain's short URLs. */
  publicBaseUrl: string
  /** Host names that are the default domain's too (OWN_HOSTS): never registrable. */
  ownHosts: readonly string[]
  checkUrl: UrlPolicy
  /** Tells every replica the registry changed (pub/sub); failures are only logged by the caller. */
  announce: (host: string) => Promise<void>
}

export interface DomainInput {
  host: string
  rootRedirect?: string
  notFoundRedirect?: string
}

/** A domain as the API shows it: the default one included, with `default: true`. */
export interface DomainView extends Omit<Domain, 'createdAt'> {
  /** null for the default domain, which is configuration. */
  createdAt: Date | null
  default: boolean
}

export function createDomainService (opts: DomainServiceOptions) {
  const base = new URL(opts.publicBaseUrl)
  const defaultHost = normalizeHost(base.hostname, { allowIp: true }) ?? base.hostname
  const scheme = base.protocol
  const reserved = new Set([defaultHost, ...opts.ownHosts.map((h) => normalizeHost(h, { allowIp: true }) ?? h)])

  /** The registered domain of a normalised host, from memory or else from Cassandra; null when none. */
  async function registered (host: string): Promise<Domain | null> {
    const known = opts.directory.get(host)
    if (known !== undefined) return known
    const stored = await opts.repo.get(host)
    if (stored !== null) opts.directory.put(stored)
    return stored
  }

  /**
   * The stored domain a host names without asking the registry: '' for none or a name of the
   * default domain, else the normalised host (registered or not: creating the link decides);
   * null when it is not a host name at all.
   */
  function storedDomainOf (host: string): string | null {
    if (host === '') return DEFAULT_DOMAIN
    const normal = normalizeHost(host, { allowIp: true })
    return normal === null ? null : reserved.has(normal) ? DEFAULT_DOMAIN : normal
  }

  /**
   * The stored domain of the host a client named: '' for none or the default host, else the
   * registered host. `where` says how the client named it, for the error: 'body' answers 400
   * naming `domain`, 'query' 404 (the path names a link on a domain that does not exist) unless
   * the text is no host name at all, which is a bad parameter (400) wherever it is.
   */
  async function domainOf (host: string | undefined, where: 'body' | 'query'): Promise<string> {
    if (host === undefined) return DEFAULT_DOMAIN
    const stored = storedDomainOf(host)
    if (stored === DEFAULT_DOMAIN || (stored !== null && await registered(stored) !== null)) return stored
    const named = `domain "${host.slice(0, 300)}"`
    if (stored === null) throw new InvalidDomainError(`${named} is not a host name`)
    const message = `${named} is not a registered domain (GET /api/v1/domains lists them)`
    throw where === 'body' ? new InvalidDomainError(message) : new DomainNotFoundError(message)
  }

  return {
    domainOf,
    defaultHost,
    storedDomainOf,

    /** The host a stored domain is served on. */
    hostOf (domain: string | undefined): string {
      return domain === undefined || domain === DEFAULT_DOMAIN ? defaultHost : domain
    },

    /** Where a short URL on the domain starts, without a trailing slash. */
    baseUrlOf (domain: string | undefined): string {
      return domain === undefined || domain === DEFAULT_DOMAIN ? opts.publicBaseUrl : `${scheme}//${domain}`
    },

    /** Registers a host; everything is checked before anything is written. */
    async register (input: DomainInput, now = new Date()): Promise<Domain> {
      const host = normalizeHost(input.host)
      if (host === null) {
        throw new InvalidDomainError(`host "${input.host.slice(0, 300)}" is not a host name: send letters, digits and "-" in dot-separated labels, ` +
          'without scheme, port or path (e.g. go.example); IP addresses are not accepted')
      }
      if (reserved.has(host)) throw new DefaultDomainError(`host "${host}" is the default domain's; it is always served`)
      const domain: Domain = {
        host,
        rootRedirect: input.rootRedirect === undefined ? null : await opts.checkUrl(input.rootRedirect, 'rootRedirect'),
        notFoundRedirect: input.notFoundRedirect === undefined ? null : await opts.checkUrl(input.notFoundRedirect, 'notFoundRedirect'),
        createdAt: now
      }
      if (!await opts.repo.insert(domain)) throw new DomainExistsError(host)
      opts.directory.put(domain)
      await opts.announce(host)
      return domain
    },

    /** The default domain first, then the registered ones by host (from Cassandra: always current). */
    async list (): Promise<DomainView[]> {
      const domains = (await opts.repo.list()).sort((a, b) => a.host.localeCompare(b.host))
      const first: DomainView = {
        host: defaultHost, rootRedirect: null, notFoundRedirect: null, createdAt: null, default: true
      }
      return [first, ...domains.map((d) => ({ ...d, default: false }))]
    },

    /** Removes a registered host; its links stay stored and unreachable (see the top of this file). */
    async remove (hostText: string): Promise<void> {
      const host = normalizeHost(hostText, { allowIp: true })
      if (host !== null && reserved.has(host)) throw new DefaultDomainError(`host "${host}" is the default domain; it cannot be deleted`)
      if (host === null || !await opts.repo.remove(host)) {
        throw new DomainNotFoundError(`domain "${hostText.slice(0, 300)}" is not a registered domain`)
      }
      opts.directory.forget(host)
      await opts.announce(host)
    }
  }
}
export type DomainService = ReturnType<typeof createDomainService>
