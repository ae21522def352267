import { DEFAULT_DOMAIN, normalizeHost } from '@shortwave/common/domains'
import { DomainNotFoundError } from '@shortwave/common/errors'

// The `domain` of a list request, as stored: '' for none or the default host. Until the domain
// registry is merged in, no other domain exists; on merge this gives way to the registry's
// domainOf(host, 'query') (create-service/src/domain-service.ts on wip-domains), which answers the same.

export function listDomainOf (publicBaseUrl: string) {
  const defaultHost = new URL(publicBaseUrl).hostname
  return async function domainOf (host: string | undefined): Promise<string> {
    if (host === undefined || host === '') return DEFAULT_DOMAIN
    if (normalizeHost(host, { allowIp: true }) === defaultHost) return DEFAULT_DOMAIN
    throw new DomainNotFoundError(`domain "${host.slice(0, 300)}" is not a registered domain (GET /api/v1/domains lists them)`)
  }
}
