import { Type, type Static } from 'typebox'
import { API_KEY_NAME_MAX, API_KEY_NAME_PATTERN, API_KEY_ROLES, keyRateText, type ApiKey } from './api-keys.ts'
import type { Caller } from './caller.ts'
import { RATE_EXAMPLE, RATE_PATTERN } from './rate.ts'

// The request and answer shapes of /api/v1/me and /api/v1/keys (routes/api-keys.ts); OpenAPI is
// built from them. A key's rate is shown as the CLI shows it: "600/min", "unlimited" or "default".

const RateText = Type.String({
  description: 'creations per s, min, h or day, e.g. 600/min (reads get ten times as many); unlimited (admin keys only); ' +
    'or default: the service\'s API_KEY_RATE'
})

const RateInput = Type.String({
  maxLength: 20,
  pattern: `^(?:default|${RATE_PATTERN.slice(1, -1)})$`,
  description: `${RATE_EXAMPLE} (admin keys only), or default`
})

const Role = Type.Enum([...API_KEY_ROLES], { description: 'admin keys may manage every link, domains and API keys' })

export const ApiKeyInputBody = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: API_KEY_NAME_MAX,
    pattern: API_KEY_NAME_PATTERN,
    description: `1 to ${API_KEY_NAME_MAX} printable ASCII characters, not starting or ending with a space`
  }),
  role: Type.Optional(Role),
  rate: Type.Optional(RateInput)
}, {
  additionalProperties: false,
  examples: [{ name: 'shop', rate: '10000/min' }, { name: 'ci', role: 'admin' }]
})

export const ApiKeyPatchBody = Type.Object({ rate: RateInput }, {
  additionalProperties: false,
  examples: [{ rate: '600/h' }, { rate: 'default' }]
})

export const ApiKeyParams = Type.Object({ id: Type.String({ maxLength: 100 }) })

const exampleMe = { id: 'ak_2b7f0c1a9e3d5f71', name: 'dashboard', role: 'user', rate: 'default' }
const exampleKey = { ...exampleMe, createdAt: '2026-12-06T03:00:00.000Z', revokedAt: null }

const meFields = {
  id: Type.String({ description: 'not secret: names the owner of links, and appears in logs' }),
  name: Type.String(),
  role: Role,
  rate: RateText
}

export const MeBody = Type.Object(meFields, { description: 'The API key the request carried', examples: [exampleMe] })

const keyFields = {
  ...meFields,
  createdAt: Type.String({ description: 'ISO-8601, UTC' }),
  revokedAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO-8601, UTC; null while the key works' })
}

export const ApiKeyBody = Type.Object(keyFields, { description: 'An API key, without its secret', examples: [exampleKey] })

export const CreatedApiKeyBody = Type.Object({
  ...keyFields,
  secret: Type.String({ description: 'the key itself, for Authorization: Bearer <secret>: shown in this answer only; store it now' })
}, {
  description: 'The new API key with its secret',
  examples: [{ ...exampleKey, secret: 'sw_Zq1rVb9oJ3k7Xw2mH8yT5uN4cL6pE0aD_fG-sR1iQ2o' }]
})

export const ApiKeyListBody = Type.Object({ keys: Type.Array(ApiKeyBody) }, {
  description: 'Every API key, revoked ones included, oldest first',
  examples: [{ keys: [exampleKey, { ...exampleKey, id: 'ak_9c0d2e4f6a8b0c1d', name: 'old laptop', revokedAt: '2026-12-07T09:00:00.000Z' }] }]
})

export const ApiKeyRevoked = Type.Null({
  description: 'Revoked (or it was already): refused at once by the replica that answered, by every other within API_KEY_CACHE_TTL_MS'
})

export function toMeBody (caller: Caller): Static<typeof MeBody> {
  return { id: caller.id, name: caller.name, role: caller.role, rate: keyRateText(caller.rate) }
}

/** A key as the API and `npm run apikey -- list --json` show it. */
export function toApiKeyBody (key: ApiKey): Static<typeof ApiKeyBody> {
  return {
    ...toMeBody(key),
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null
  }
}
