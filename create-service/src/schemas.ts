import { ALIAS_MAX, ALIAS_MIN, ALIAS_PATTERN } from '@shortwave/common/keys'
import type { Link } from '@shortwave/common/link-repository'
import { Type, type Static } from 'typebox'
import type { LinkWithClicks } from './link-service.ts'
import { URL_MAX_LENGTH } from './url-policy.ts'

// Request and response shapes of the links API: validation, serialisation and documentation
// from one source. Descriptions of patterned fields double as their error messages.

export const CreateLinkBody = Type.Object({
  url: Type.String({ maxLength: URL_MAX_LENGTH, description: 'an absolute http or https URL' }),
  alias: Type.Optional(Type.String({
    pattern: ALIAS_PATTERN,
    description: `${ALIAS_MIN} to ${ALIAS_MAX} characters long and use only letters, digits, "-" and "_"`
  })),
  expiresAt: Type.Optional(Type.String({ maxLength: 64, description: 'ISO-8601 date and time with a time zone' })),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds until the link expires' }))
}, { additionalProperties: false })

// No pattern: a path that cannot be a key is simply not found (404), not a bad request.
export const KeyParams = Type.Object({ key: Type.String() })

export const LinkBody = Type.Object({
  key: Type.String(),
  shortUrl: Type.String(),
  url: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()])
})

export const LinkWithClicksBody = Type.Object({
  ...LinkBody.properties,
  clicks: Type.Integer()
})

/** The error shape the common error handler sends. */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String())
})

export function toLinkBody (link: Link, publicBaseUrl: string): Static<typeof LinkBody> {
  return {
    key: link.key,
    shortUrl: `${publicBaseUrl}/${link.key}`,
    url: link.url,
    createdAt: link.createdAt.toISOString(),
    expiresAt: link.expiresAt?.toISOString() ?? null
  }
}

export function toLinkWithClicksBody (link: LinkWithClicks, publicBaseUrl: string): Static<typeof LinkWithClicksBody> {
  return { ...toLinkBody(link, publicBaseUrl), clicks: link.clicks }
}
