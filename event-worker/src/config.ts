import { CassandraEnv, ConfigError, envSchema, HttpEnv, loadConfig } from '@shortwave/common/config'
import { checkTargetEnv, TargetEnv } from '@shortwave/common/target-env'
import { hostname } from 'node:os'
import { Type, type Static } from 'typebox'

export const configSchema = envSchema({
  ...HttpEnv,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3005 }),
  ...CassandraEnv,
  // Names this worker in the shard leases; unique per process.
  WORKER_ID: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$', default: `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${process.pid}` }),
  // The URL policy of link targets (invariant 8), checked again at every delivery: the shortener's
  // own host is refused, and non-public addresses unless allowed, as create-service does.
  ...TargetEnv,
  // How often the worker looks for due events and deliveries in the shards it holds.
  EVENT_POLL_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  // A shard lease's life: a worker that dies gives its shards (and their deliveries) up after this.
  EVENT_LEASE_SECONDS: Type.Integer({ minimum: 2, maximum: 600, default: 30 }),
  // One attempt: connecting, sending and the whole answer within this; then it failed.
  DELIVERY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
  // The most of an answer's body read (for the log); past it the connection is cut.
  DELIVERY_MAX_RESPONSE_BYTES: Type.Integer({ minimum: 0, maximum: 1_048_576, default: 65_536 }),
  DELIVERY_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
  // Attempts in flight to one endpoint: a slow one holds this many, never the others'.
  DELIVERY_CONCURRENCY_PER_ENDPOINT: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  // Retries: exponential from the base, capped, with jitter; for this long after the first attempt.
  DELIVERY_BACKOFF_BASE_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 5000 }),
  DELIVERY_BACKOFF_MAX_MS: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 3_600_000 }),
  DELIVERY_RETRY_SECONDS: Type.Integer({ minimum: 1, maximum: 172_800, default: 86_400 }),
  // An endpoint with no successful delivery for this long (every attempt failing) is disabled.
  WEBHOOK_DISABLE_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 2_592_000, default: 86_400 })
})
export type Config = Static<typeof configSchema>

/** The rules one variable's schema cannot express; throws a ConfigError naming the variable. */
export function checkConfig<C extends Config> (config: C): C {
  checkTargetEnv(config)
  if (config.DELIVERY_BACKOFF_MAX_MS < config.DELIVERY_BACKOFF_BASE_MS) {
    throw new ConfigError(`Invalid configuration: DELIVERY_BACKOFF_MAX_MS=${config.DELIVERY_BACKOFF_MAX_MS} must be at least DELIVERY_BACKOFF_BASE_MS=${config.DELIVERY_BACKOFF_BASE_MS}`)
  }
  return config
}

export function loadWorkerConfig (env: Record<string, string | undefined>): Readonly<Config> {
  return checkConfig(loadConfig(configSchema, env))
}
