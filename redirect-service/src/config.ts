import { CassandraEnv, HttpEnv, RedisEnv, envSchema } from '@shortwave/common/config'
import { Type, type Static } from 'typebox'

export const configSchema = envSchema({
  ...HttpEnv,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3002 }),
  ...CassandraEnv,
  ...RedisEnv,
  REDIRECT_STATUS: Type.Enum([301, 302, 307, 308], { type: 'integer', default: 302, description: 'one of 301, 302, 307, 308' }),
  // Browsers keep permanent redirects for this long without asking again (capped at the link's expiry).
  PERMANENT_MAX_AGE_SECONDS: Type.Integer({ minimum: 0, maximum: 31_536_000, default: 3600 }),
  LOCAL_CACHE_MAX: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
  // Short enough that a deleted link answers 404 on every replica within 5 s without any invalidation message.
  LOCAL_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 5000, default: 3000 }),
  LOCAL_NEGATIVE_TTL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  REDIS_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 2_592_000, default: 86_400 }),
  REDIS_NEGATIVE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
  CLICK_FLUSH_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  CLICK_BUFFER_MAX_KEYS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 })
})

export type Config = Static<typeof configSchema>
