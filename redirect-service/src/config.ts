import { CassandraEnv, ConfigError, DomainEnv, HttpEnv, RedisEnv, envSchema } from '@shortwave/common/config'
import { normalizeHost } from '@shortwave/common/domains'
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
  CLICK_BUFFER_MAX_KEYS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
  // Where clicks come from (referrer, country, device, browser, OS, utm_*, unique visitors):
  // derived in the flush, off the request's path. false counts clicks only, as before analytics.
  CLICK_DIMENSIONS: Type.Boolean({ default: true }),
  // An MMDB country database; empty means the one that comes with the service (CC0 code, data of the
  // RIRs under CC BY 4.0). GeoLite2 Country or City, GeoIP2 and DB-IP Lite files work too.
  COUNTRY_DB_PATH: Type.String({ default: '' }),
  USER_AGENT_CACHE_SIZE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5000 }),
  // Clicks held between flushes for analytics; past it a click is still counted, its dimensions `unknown`.
  CLICK_DIMENSIONS_MAX_PENDING: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
  ...DomainEnv,
  // The names the default domain answers on (the host of create-service's PUBLIC_BASE_URL and any
  // local name): any other Host is a registered domain's, or unknown (404). checkConfig parses it.
  DEFAULT_DOMAIN_HOSTS: Type.String({
    default: 'localhost,127.0.0.1,[::1]',
    minLength: 1,
    description: 'comma-separated host names or IP addresses, without ports, e.g. sw.example,localhost,127.0.0.1'
  })
})

export type Config = Static<typeof configSchema>

/** DEFAULT_DOMAIN_HOSTS as normalised hosts; a ConfigError naming the variable when one is not a host. */
export function defaultDomainHosts (config: Pick<Config, 'DEFAULT_DOMAIN_HOSTS'>): string[] {
  const entries = config.DEFAULT_DOMAIN_HOSTS.split(',').map((h) => h.trim()).filter(Boolean)
  const hosts = entries.map((h) => normalizeHost(h, { allowIp: true }))
  const bad = entries.filter((_, i) => hosts[i] === null)
  if (entries.length === 0 || bad.length > 0) {
    throw new ConfigError(`Invalid configuration: DEFAULT_DOMAIN_HOSTS=${JSON.stringify(config.DEFAULT_DOMAIN_HOSTS)} is invalid: ` +
      `${bad.length > 0 ? `${bad.map((h) => JSON.stringify(h)).join(', ')} is not a host name` : 'it names no host'} ` +
      '(expected comma-separated host names or IP addresses, without ports, e.g. sw.example,localhost,127.0.0.1)')
  }
  return hosts as string[]
}

/** The rules a schema cannot express (tests/deploy checks deployed settings with it too). */
export function checkConfig<C extends Config> (config: C): C {
  defaultDomainHosts(config)
  return config
}
