import { CassandraEnv, ConfigError, envSchema, HttpEnv, KeyEnv, loadConfig, RedisEnv } from '@shortwave/common/config'
import { hostname } from 'node:os'
import { Type, type Static } from 'typebox'

// Redis key names and SCAN patterns are built from the worker id, so it stays a plain word.
const WORKER_ID_PATTERN = '^[A-Za-z0-9_.-]{1,100}$'

/** Unique per process on one host; a container's hostname makes it unique across hosts. */
export function defaultWorkerId (): string {
  return `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${process.pid}`
}

export const configSchema = envSchema({
  ...HttpEnv,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3004 }),
  ...CassandraEnv,
  ...RedisEnv,
  ...KeyEnv,
  POOL_LOW_WATER: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 5000 }),
  POOL_HIGH_WATER: Type.Integer({ minimum: 2, maximum: 10_000_000, default: 20_000 }),
  CLAIM_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  CLAIM_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  REFILL_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  CLICK_FOLD_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
  WORKER_ID: Type.String({ pattern: WORKER_ID_PATTERN, default: defaultWorkerId() }),
  // The owner-index sweep (owner-index-sweeper.ts): seconds between passes, 0 for none.
  OWNER_SWEEP_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 604_800, default: 3600 }),
  // How old an entry must be before the sweep looks at it: longer than any create takes.
  OWNER_SWEEP_GRACE_SECONDS: Type.Integer({ minimum: 60, maximum: 604_800, default: 3600 }),
  OWNER_SWEEP_ROWS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  // Analytics (clicks by referrer, country… and unique visitors) kept, in months, the current one
  // included; 0 keeps them for good. Clicks per day (and so a link's total) are never expired.
  STATS_RETENTION_MONTHS: Type.Integer({ minimum: 0, maximum: 1200, default: 25 }),
  STATS_RETENTION_SWEEP_SECONDS: Type.Integer({ minimum: 60, maximum: 604_800, default: 21_600 })
})
export type Config = Static<typeof configSchema>

const MIN_SWEEP_INTERVAL_SECONDS = 60

/** The rules one variable's schema cannot express; throws a ConfigError naming the variables. */
export function checkConfig<C extends Config> (config: C): C {
  if (config.POOL_HIGH_WATER <= config.POOL_LOW_WATER) {
    throw new ConfigError(`Invalid configuration: POOL_HIGH_WATER=${config.POOL_HIGH_WATER} must be greater than POOL_LOW_WATER=${config.POOL_LOW_WATER}`)
  }
  // A pass over the whole index every few seconds would be a constant scan, not a cleanup.
  if (config.OWNER_SWEEP_INTERVAL_SECONDS > 0 && config.OWNER_SWEEP_INTERVAL_SECONDS < MIN_SWEEP_INTERVAL_SECONDS) {
    throw new ConfigError(`Invalid configuration: OWNER_SWEEP_INTERVAL_SECONDS=${config.OWNER_SWEEP_INTERVAL_SECONDS} must be 0 (no sweep) or at least ${MIN_SWEEP_INTERVAL_SECONDS}`)
  }
  return config
}

export function loadWorkerConfig (env: Record<string, string | undefined>): Readonly<Config> {
  return checkConfig(loadConfig(configSchema, env))
}
