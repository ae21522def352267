import { CassandraEnv, DomainEnv, HttpEnv, KeyEnv, RedisEnv, envSchema } from '@shortwave/common/config'
import { checkTargetEnv, HOST_LIST, listSetting, TargetEnv } from '@shortwave/common/target-env'
import { Type, type Static } from 'typebox'
import { RATE_EXAMPLE, RATE_PATTERN, parseRate, rateOf, type Rate } from './rate.ts'

export const configSchema = envSchema({
  ...HttpEnv,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  ...CassandraEnv,
  ...RedisEnv,
  ...KeyEnv,
  ...DomainEnv,
  ...TargetEnv,
  // Other names the shortener answers on (a CDN name, the bare IP): links to them would loop as well.
  OWN_HOSTS: Type.String({ default: '', pattern: HOST_LIST, description: 'comma-separated host names, e.g. sw.example,10.0.0.5' }),
  // Resolve each target's host name and refuse it when any address is not public (url-policy.ts).
  RESOLVE_TARGETS: Type.Boolean({ default: false }),
  MAX_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3_153_600_000, default: 157_680_000 }),
  // Whether links may be created without an API key (listing and deleting always need one).
  ALLOW_ANONYMOUS: Type.Boolean({ default: true }),
  // How long an API key lookup is reused in memory: a revoked key stops working within this time.
  API_KEY_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 5000 }),
  // Quotas (quotaRates below): per client address without an API key, and of a key that has no
  // rate of its own (`npm run apikey -- create --rate`). Reads get ten times the rate.
  ANONYMOUS_RATE: Type.Optional(Type.String({ pattern: RATE_PATTERN, description: RATE_EXAMPLE })),
  API_KEY_RATE: Type.Optional(Type.String({ pattern: RATE_PATTERN, description: RATE_EXAMPLE })),
  // The older spelling of both rates at once: RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS, for every
  // client. Still honoured where the two settings above are not set.
  RATE_LIMIT_MAX: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  RATE_LIMIT_WINDOW_MS: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000 })),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 8192 }),
  // Keys left in this replica's lease when it leases the next chunk of the pool: enough for the
  // creates that arrive during one Paxos round, so they do not wait for it.
  KEY_LEASE_AHEAD: Type.Integer({ minimum: 0, maximum: 1000, default: 50 }),
  REDIS_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 2_592_000, default: 86_400 }),
  REDIS_NEGATIVE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
  // Imports (POST /api/v1/links/import): the largest upload, read as a stream and refused with 413
  // past these; rows created at once per job; failed rows listed per job.
  IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 1_073_741_824, default: 33_554_432 }),
  IMPORT_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 200_000 }),
  IMPORT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 512, default: 64 }),
  IMPORT_ERRORS_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000 }),
  RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 2 })
})

export type Config = Static<typeof configSchema>

/** The rules a pattern cannot express; throws a ConfigError naming the variable. */
export function checkConfig<C extends Config> (config: C): C {
  checkTargetEnv(config)
  return config
}

export const DEFAULT_RATES = { anonymous: '60/min', apiKey: '600/min' } as const

/** The anonymous and default API key rates: their own settings, else RATE_LIMIT_MAX, else the defaults. */
export function quotaRates (config: Config): { anonymous: Rate, apiKey: Rate } {
  const legacy = config.RATE_LIMIT_MAX === undefined && config.RATE_LIMIT_WINDOW_MS === undefined
    ? undefined
    : rateOf(config.RATE_LIMIT_MAX ?? 60, config.RATE_LIMIT_WINDOW_MS ?? 60_000)
  const pick = (setting: string | undefined, fallback: string): Rate =>
    setting !== undefined ? parseRate(setting) : legacy !== undefined ? legacy : parseRate(fallback)
  return {
    anonymous: pick(config.ANONYMOUS_RATE, DEFAULT_RATES.anonymous),
    apiKey: pick(config.API_KEY_RATE, DEFAULT_RATES.apiKey)
  }
}

export { listSetting }
