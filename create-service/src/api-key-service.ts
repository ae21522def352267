import { ApiKeyNotFoundError, InvalidApiKeyRateError, OwnApiKeyError } from '@shortwave/common/errors'
import { keyRateFor, type ApiKey, type ApiKeyRepository, type ApiKeyRole, type KeyRate } from './api-keys.ts'
import type { Caller } from './caller.ts'

// API keys managed over HTTP by an admin key: what `npm run apikey` does, in the same table. The
// routes check the role; this checks what the schema cannot (a rate for the key's role, which key
// is asked for) and makes this replica drop what it cached of a key it changed, so the change
// bites on that key's next request here. Other replicas notice within API_KEY_CACHE_TTL_MS, as
// they do after the CLI.

export interface ApiKeyServiceOptions {
  repo: Pick<ApiKeyRepository, 'create' | 'list' | 'findById' | 'revoke' | 'setRate'>
  /** Drops this replica's cached lookups of a key (the auth plugin's forgetCaller). */
  forget: (id: string) => void
}

export interface ApiKeyInput {
  name: string
  role?: ApiKeyRole
  rate?: string
}

/** The rate `text` for a key of `role`, or a 400 naming what is expected. */
function rateFor (text: string, role: ApiKeyRole): KeyRate {
  try {
    return keyRateFor(text, role)
  } catch (error) {
    throw new InvalidApiKeyRateError((error as RangeError).message)
  }
}

export function createApiKeyService (opts: ApiKeyServiceOptions) {
  const { repo, forget } = opts

  return {
    list: () => repo.list(),

    /** A new key and its secret, which is not stored and cannot be shown again. */
    async create (input: ApiKeyInput): Promise<{ key: ApiKey, secret: string }> {
      const role = input.role ?? 'user'
      return await repo.create(input.name, role, rateFor(input.rate ?? 'default', role))
    },

    /** Revokes the key; revoking a revoked key changes nothing. A key cannot revoke itself. */
    async revoke (id: string, caller: Caller): Promise<ApiKey> {
      if (id === caller.id) {
        throw new OwnApiKeyError('An API key cannot revoke itself; revoke it with another admin key, or with `npm run apikey -- revoke <id>`')
      }
      const key = await repo.revoke(id)
      if (key === null) throw new ApiKeyNotFoundError(id.slice(0, 64))
      forget(id)
      return key
    },

    async setRate (id: string, text: string): Promise<ApiKey> {
      const found = await repo.findById(id)
      if (found === null) throw new ApiKeyNotFoundError(id.slice(0, 64))
      const key = await repo.setRate(id, rateFor(text, found.role))
      if (key === null) throw new ApiKeyNotFoundError(id.slice(0, 64))
      forget(id)
      return key
    }
  }
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>
