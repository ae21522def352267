import { createClickRollups } from '@shortwave/common/click-rollups'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { UnsupportedMediaTypeError } from '@shortwave/common/errors'
import { createDomainDirectory } from '@shortwave/common/domain-directory'
import { createDomainRepository } from '@shortwave/common/domain-registry'
import { createKeyPool } from '@shortwave/common/key-pool'
import { createLinkCache } from '@shortwave/common/link-cache'
import { createLinkIndex } from '@shortwave/common/link-index'
import { createLinkRepository } from '@shortwave/common/link-repository'
import cassandraPlugin from '@shortwave/common/plugins/cassandra'
import domainChanges, { reloadOnAnnouncements } from '@shortwave/common/plugins/domain-changes'
import errorHandler from '@shortwave/common/plugins/error-handler'
import health, { storeChecks } from '@shortwave/common/plugins/health'
import metricsPlugin from '@shortwave/common/plugins/metrics'
import methodNotAllowed from '@shortwave/common/plugins/method-not-allowed'
import redisPlugin from '@shortwave/common/plugins/redis'
import { serverOptions } from '@shortwave/common/server-options'
import type { Tracing } from '@shortwave/common/tracing'
import type cassandra from 'cassandra-driver'
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifySchemaCompiler } from 'fastify'
import type { Redis } from 'ioredis'
import { createApiKeyService } from './api-key-service.ts'
import { createApiKeyRepository } from './api-keys.ts'
import { checkConfig, listSetting, quotaRates, type Config } from './config.ts'
import { createDomainService } from './domain-service.ts'
import { createIdempotencyStore } from './idempotency.ts'
import { createImports } from './import/wiring.ts'
import { createKeySource } from './key-source.ts'
import { createLinkEvents } from './link-events.ts'
import { createLinkInvalidator } from './link-invalidation.ts'
import { createLinkService } from './link-service.ts'
import { createStatsService } from './link-stats.ts'
import { createMetrics } from './metrics.ts'
import authPlugin from './plugins/auth.ts'
import openApiPlugin from './plugins/openapi.ts'
import { createQuotas } from './quota.ts'
import apiKeyRoutes from './routes/api-keys.ts'
import domainRoutes from './routes/domains.ts'
import linkViewRoutes from './routes/link-views.ts'
import statsRoutes from './routes/stats.ts'
import importRoutes from './routes/imports.ts'
import linkRoutes from './routes/links.ts'
import webhookRoutes from './routes/webhooks.ts'
import { createDnsResolver, type ResolveHost } from '@shortwave/common/target-resolver'
import { URL_MAX_LENGTH, createUrlPolicy } from '@shortwave/common/url-policy'
import { formatValidationErrors } from './validation-messages.ts'
import { createWebhookInterest } from './webhook-interest.ts'
import { createWebhookService } from './webhook-service.ts'
import { createOutbox } from '@shortwave/common/webhook-outbox'
import { createWebhookStore } from '@shortwave/common/webhook-store'

export interface AppDeps {
  cassandra?: cassandra.Client
  redis?: Redis
  logger?: boolean
  /** Where JSON log lines go instead of stdout (tests read them). */
  logStream?: NodeJS.WritableStream
  /** How target host names are resolved when RESOLVE_TARGETS is on (tests; DNS otherwise). */
  resolveHost?: ResolveHost
  tracing?: Tracing
}

// The API takes JSON only. Any other body (text/plain included, which Fastify would otherwise
// hand to validation as a string) is refused with 415 and a message saying what to send.
function refuseNonJson (request: FastifyRequest, _payload: unknown, done: (err: Error) => void): void {
  const type = String(request.headers['content-type'] ?? 'none').split(';')[0]!.trim().slice(0, 100)
  done(new UnsupportedMediaTypeError(`Content-Type ${type} is not supported; send a JSON body with Content-Type: application/json`))
}

// How often each replica reads which link changes webhooks want, besides the announcements.
const WEBHOOK_RELOAD_MS = 10_000

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  checkConfig(config)
  const { logger } = serverOptions(config, {}, deps.tracing)
  const app = Fastify(serverOptions(config, {
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Fastify answers 414 to path parameters over 100 characters; a key that long is simply unknown (404).
    routerOptions: { maxParamLength: URL_MAX_LENGTH },
    // Types are not coerced (a url of 42 is a mistake, not "42") and unknown fields are refused,
    // not silently dropped. `verbose` hands schema descriptions to formatValidationErrors.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, verbose: true } },
    schemaErrorFormatter: formatValidationErrors,
    ...(deps.logger === false ? { logger: false } : {}),
    ...(deps.logStream ? { logger: { ...logger as object, stream: deps.logStream } } : {})
  }, deps.tracing)).withTypeProvider<TypeBoxTypeProvider>()
  if (deps.tracing) await app.register(deps.tracing.plugin)

  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('*', refuseNonJson)

  const publicBaseUrl = new URL(config.PUBLIC_BASE_URL).origin
  await app.register(openApiPlugin, { publicBaseUrl })
  await app.register(errorHandler, { retryAfterSeconds: config.RETRY_AFTER_SECONDS })
  await app.register(methodNotAllowed)
  await app.register(metricsPlugin, { service: 'create-service' })
  await app.register(cassandraPlugin, { config, client: deps.cassandra })
  // Each create sends two commands (its rate-limit charge and the cache write): under concurrent
  // creates, one write carries those of many requests.
  await app.register(redisPlugin, { config, client: deps.redis, autoPipelining: true })
  await app.register(health, {
    checks: {
      ...storeChecks(app)
    },
    // Without Redis links are still created (keys claimed directly) and stored: still ready.
    isReady: (results) => results['cassandra'] === true
  })
  await app.register(authPlugin, { cacheTtlMs: config.API_KEY_CACHE_TTL_MS })

  const repo = createLinkRepository(app.cassandra)
  const cache = createLinkCache(app.redis, app.redisKeys, {
    ttlSeconds: config.REDIS_CACHE_TTL_SECONDS,
    negativeTtlSeconds: config.REDIS_NEGATIVE_TTL_SECONDS
  })
  const invalidator = createLinkInvalidator({
    cache, redis: app.redis, channel: app.redisKeys.linkInvalidations, log: app.log
  })
  const metrics = createMetrics(app.metrics)
  const keySource = createKeySource({
    pool: createKeyPool(app.redis, app.redisKeys),
    repo,
    metrics,
    log: app.log,
    keyLength: config.KEY_LENGTH,
    leaseAhead: config.KEY_LEASE_AHEAD
  })
  const domainRepo = createDomainRepository(app.cassandra)
  const directory = createDomainDirectory({
    repo: domainRepo,
    reloadMs: config.DOMAIN_RELOAD_MS,
    onError: (err) => app.log.warn({ err: err.message }, 'could not reload the domains')
  })
  const checkUrl = createUrlPolicy({
    publicBaseUrl: config.PUBLIC_BASE_URL,
    ownHosts: listSetting(config.OWN_HOSTS),
    // A custom domain's own links would loop as well; the registry in memory, no read per create.
    isServedDomain: (host) => directory.get(host) !== undefined,
    blockedDomains: listSetting(config.BLOCKED_DOMAINS),
    allowedNetworks: listSetting(config.ALLOWED_TARGET_NETWORKS),
    allowedHosts: listSetting(config.ALLOWED_TARGET_HOSTS),
    ...(config.RESOLVE_TARGETS
      ? { resolveHost: deps.resolveHost ?? createDnsResolver({ timeoutMs: config.RESOLVE_TIMEOUT_MS }) }
      : {})
  })
  await app.register(domainChanges, { directory })
  const domains = createDomainService({
    repo: domainRepo,
    directory,
    publicBaseUrl,
    ownHosts: listSetting(config.OWN_HOSTS),
    checkUrl,
    announce: async (host) => {
      // The registry is in Cassandra already; a replica that misses this reloads within DOMAIN_RELOAD_MS.
      await app.redis.publish(app.redisKeys.domainChanges, host).catch((err: Error) => {
        app.log.warn({ err: err.message, host }, 'could not announce a domain change; replicas catch up on their reload')
      })
    }
  })
  // Only changes some webhook wants go to the outbox (webhook-interest.ts).
  const webhookStore = createWebhookStore(app.cassandra)
  const interest = createWebhookInterest({
    store: webhookStore,
    reloadMs: WEBHOOK_RELOAD_MS,
    onError: (err) => app.log.warn({ err: err.message }, 'could not reload the webhook subscriptions; writing every event meanwhile')
  })
  reloadOnAnnouncements(app, app.redisKeys.webhookChanges, interest, 'webhook subscriptions')
  const links = createLinkService({
    repo,
    index: createLinkIndex(app.cassandra),
    cache,
    keySource,
    invalidator,
    checkUrl,
    domainOf: domains.domainOf,
    events: createLinkEvents(createOutbox(app.cassandra), domains, interest),
    maxTtlSeconds: config.MAX_TTL_SECONDS,
    metrics,
    log: app.log
  })

  // Before the clients close: no lease may start or be left half done.
  app.addHook('preClose', () => keySource.close())
  app.addHook('preClose', async () => { invalidator.close() })

  // Registered after the Redis plugin: the quotas count in that client.
  const quota = createQuotas({ redis: app.redis, namespace: app.redisKeys.rateLimit, ...quotaRates(config) })
  // Reading is cheap and often scripted: ten times the room of the writes.
  const quotas = { create: quota('create'), read: quota('read', 10), edit: quota('edit'), delete: quota('delete'), qr: quota('qr') }
  await app.register(linkRoutes, {
    links,
    publicBaseUrl,
    allowAnonymous: config.ALLOW_ANONYMOUS,
    quotas,
    idempotency: createIdempotencyStore(app.cassandra),
    domains
  })
  await app.register(linkViewRoutes, { links, quotas, domains })
  await app.register(statsRoutes, {
    links,
    stats: createStatsService({
      repo, rollups: createClickRollups(app.cassandra), redis: app.redis, keys: app.redisKeys
    }),
    quotas,
    domains
  })
  await app.register(domainRoutes, { domains, quotas })
  await app.register(apiKeyRoutes, {
    apiKeys: createApiKeyService({ repo: createApiKeyRepository(app.cassandra), forget: app.forgetCaller }),
    quotas
  })
  // A webhook target obeys the links' policy (invariant 8), checked again at each delivery.
  const webhooks = createWebhookService({
    store: webhookStore,
    checkUrl,
    onChange: async () => {
      // This replica at once (its next create must see the webhook), the others through Redis.
      await interest.load()
      await app.redis.publish(app.redisKeys.webhookChanges, '1').catch((err: Error) => {
        app.log.warn({ err: err.message }, 'could not announce a webhook change; replicas catch up on their reload')
      })
    }
  })
  await app.register(webhookRoutes, { webhooks, quotas })
  const compiler = { compile: (() => { throw new Error('the import routes are not registered') }) as FastifySchemaCompiler<unknown> }
  const imports = createImports(app, config, { links, repo, domains, compiler })
  app.addHook('preClose', () => imports.close())
  await app.register(importRoutes, {
    jobs: imports, compiler, repo, publicBaseUrl, urls: domains, maxBytes: config.IMPORT_MAX_BYTES, quotas
  })
  return app
}
