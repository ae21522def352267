import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { createLinkCache } from '@shortwave/common/link-cache'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { createDomainDirectory } from '@shortwave/common/domain-directory'
import { createDomainRepository } from '@shortwave/common/domain-registry'
import cassandraPlugin from '@shortwave/common/plugins/cassandra'
import domainChanges from '@shortwave/common/plugins/domain-changes'
import errorHandler from '@shortwave/common/plugins/error-handler'
import health, { storeChecks } from '@shortwave/common/plugins/health'
import metricsPlugin from '@shortwave/common/plugins/metrics'
import methodNotAllowed from '@shortwave/common/plugins/method-not-allowed'
import redisPlugin from '@shortwave/common/plugins/redis'
import { serverOptions } from '@shortwave/common/server-options'
import type { Tracing } from '@shortwave/common/tracing'
import type cassandra from 'cassandra-driver'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { defaultDomainHosts, type Config } from './config.ts'
import { createHostTable } from './hosts.ts'
import { createClickCap } from './click-cap.ts'
import { createLinkResolver } from './link-resolver.ts'
import { createMetrics, type RedirectOutcomes } from './metrics.ts'
import clicksPlugin from './plugins/clicks.ts'
import invalidationsPlugin from './plugins/invalidations.ts'
import { redirectRoutes } from './routes/redirect.ts'

export interface AppDeps {
  cassandra?: cassandra.Client
  redis?: Redis
  logger?: boolean
  tracing?: Tracing
  /** The clock the link rules (validFrom, expiry) are judged by; Date.now by default. */
  now?: () => number
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const hosts = createHostTable(defaultDomainHosts(config))
  const app = Fastify(serverOptions(config, {
    ...(deps.logger === false ? { logger: false } : {})
  }, deps.tracing)).withTypeProvider<TypeBoxTypeProvider>()
  if (deps.tracing) await app.register(deps.tracing.plugin)

  await app.register(errorHandler, { retryAfterSeconds: 2 })
  await app.register(methodNotAllowed)
  await app.register(metricsPlugin, { service: 'redirect-service' })
  await app.register(cassandraPlugin, { config, client: deps.cassandra })
  // No auto-pipelining (it was on): through nginx, redirects that reach Redis were fewer per second
  // with it and its minor GCs longer, which set the p99; only a replica driven straight at its port
  // gained (docs/benchmarks.md, "How the 1,000,000-link p99 came down").
  await app.register(redisPlugin, { config, client: deps.redis })
  await app.register(health, {
    checks: {
      ...storeChecks(app)
    },
    // Either store can serve redirects, so one being down must not take every replica out.
    isReady: (results) => results['cassandra'] === true || results['redis'] === true
  })
  await app.register(clicksPlugin, {
    flushIntervalMs: config.CLICK_FLUSH_INTERVAL_MS,
    maxFields: config.CLICK_BUFFER_MAX_KEYS,
    dimensions: config.CLICK_DIMENSIONS && {
      countryDatabase: config.COUNTRY_DB_PATH,
      userAgentCacheSize: config.USER_AGENT_CACHE_SIZE,
      maxPending: config.CLICK_DIMENSIONS_MAX_PENDING
    }
  })

  const outcomes: RedirectOutcomes = { redirect: 0, not_found: 0, invalid: 0 }
  let invalidations = 0
  const metrics = createMetrics(app.metrics, {
    lookups: () => resolver.stats,
    clicks: () => app.clicks,
    redirects: () => outcomes,
    invalidations: () => invalidations,
    analytics: () => app.analytics && {
      derived: app.analytics.recorder.stats.derived,
      overflow: app.analytics.recorder.stats.overflow,
      userAgentsParsed: app.analytics.userAgents.misses,
      dimensionsDropped: app.analytics.dimensions.stats.dropped,
      visitorsDropped: app.analytics.visitors.stats.dropped
    }
  })
  const repository = createLinkRepository(app.cassandra)
  const resolver = createLinkResolver({
    cache: createLinkCache(app.redis, app.redisKeys, {
      ttlSeconds: config.REDIS_CACHE_TTL_SECONDS,
      negativeTtlSeconds: config.REDIS_NEGATIVE_TTL_SECONDS
    }),
    repository,
    localMax: config.LOCAL_CACHE_MAX,
    localTtlMs: config.LOCAL_CACHE_TTL_MS,
    localNegativeTtlMs: config.LOCAL_NEGATIVE_TTL_MS,
    onRead: (store, seconds) => metrics.storeReads[store].observe(seconds),
    ...(deps.now ? { now: deps.now } : {})
  })
  const clickCap = createClickCap({
    redis: app.redis, counterKey: app.redisKeys.clickCap, storedClicks: (key) => repository.totalClicks(key)
  })

  await app.register(domainChanges, {
    directory: createDomainDirectory({
      repo: createDomainRepository(app.cassandra),
      reloadMs: config.DOMAIN_RELOAD_MS,
      onError: (err) => app.log.warn({ err: err.message }, 'could not reload the domains; serving the ones known'),
      onLoad: (domains) => hosts.update(domains)
    })
  })
  await app.register(invalidationsPlugin, {
    evict: (key) => {
      invalidations++
      resolver.evict(key)
    }
  })
  await app.register(redirectRoutes, {
    resolver,
    status: config.REDIRECT_STATUS,
    permanentMaxAgeSeconds: config.PERMANENT_MAX_AGE_SECONDS,
    outcomes,
    clickCap,
    hosts,
    ...(deps.now ? { now: deps.now } : {})
  })
  return app
}
