import { Type, type Static } from 'typebox'
import type { DomainView } from './domain-service.ts'
import type { Domain } from '@shortwave/common/domain-registry'
import { URL_MAX_LENGTH, URL_SCHEME_PATTERN } from '@shortwave/common/url-policy'

// The request and answer shapes of /api/v1/domains (routes/domains.ts); OpenAPI is built from them.

const RedirectUrl = (what: string) => Type.String({
  minLength: 1,
  maxLength: URL_MAX_LENGTH,
  pattern: URL_SCHEME_PATTERN,
  description: `an absolute http(s) URL ${what}; checked like a link's target`
})

export const DomainInputBody = Type.Object({
  host: Type.String({
    minLength: 1,
    maxLength: 300,
    description: 'a host name without scheme, port or path, e.g. go.example; stored lower-case and in punycode; no IP address'
  }),
  rootRedirect: Type.Optional(RedirectUrl('where GET / on the host goes (404 without it)')),
  notFoundRedirect: Type.Optional(RedirectUrl('where an unknown key on the host goes (404 without it)'))
}, {
  additionalProperties: false,
  examples: [{ host: 'go.example', rootRedirect: 'https://example.com/', notFoundRedirect: 'https://example.com/missing' }]
})

export const DomainParams = Type.Object({ host: Type.String({ maxLength: 300 }) })

const exampleDomain = {
  host: 'go.example',
  default: false,
  rootRedirect: 'https://example.com/',
  notFoundRedirect: null,
  createdAt: '2026-12-06T03:00:00.000Z'
}
const defaultDomain = { host: 'localhost', default: true, rootRedirect: null, notFoundRedirect: null, createdAt: null }

export const DomainBody = Type.Object({
  host: Type.String(),
  default: Type.Boolean({ description: 'the default domain (PUBLIC_BASE_URL): always there, cannot be deleted' }),
  rootRedirect: Type.Union([Type.String(), Type.Null()]),
  notFoundRedirect: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO-8601, UTC; null for the default domain' })
}, { description: 'A domain links can be served on', examples: [exampleDomain] })

export const DomainListBody = Type.Object({ domains: Type.Array(DomainBody) }, {
  description: 'The default domain first, then the registered ones by host',
  examples: [{ domains: [defaultDomain, exampleDomain] }]
})

export const DomainDeleted = Type.Null({
  description: 'Removed; its host answers 404 within seconds. Its links are kept, unreachable, and come back if the host is registered again'
})

export function toDomainBody (domain: DomainView | Domain): Static<typeof DomainBody> {
  return {
    host: domain.host,
    default: 'default' in domain ? domain.default : false,
    rootRedirect: domain.rootRedirect,
    notFoundRedirect: domain.notFoundRedirect,
    createdAt: domain.createdAt?.toISOString() ?? null
  }
}
