import { runLoop } from '@shortwave/common/loop'
import { createDnsResolver, type ResolveHost } from '@shortwave/common/target-resolver'
import { createUrlPolicy } from '@shortwave/common/url-policy'
import { createWebhookStore } from '@shortwave/common/webhook-store'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { listSetting } from '@shortwave/common/target-env'
import type { Config } from '../config.ts'
import { createConfirmer } from '../confirm.ts'
import { createDeliverer } from '../deliver.ts'
import { createShardLeases } from '../leases.ts'
import { createMetrics } from '../metrics.ts'
import { createProcessor } from '../processor.ts'
import { createQueue } from '../queue.ts'

export interface WorkerPluginOptions {
  config: Config
  resolveHost?: ResolveHost
}

// An event's change that has not shown in the links row after this long never happened: longer
// than any create or edit request takes (their Cassandra timeouts and retries included).
const SETTLE_MS = 60_000

/**
 * The event-worker's two loops: the lease round (every third of the lease) and the queue pass over
 * the shards held (every EVENT_POLL_INTERVAL_MS). They start once the app is ready and stop before
 * the Cassandra client closes; the deliveries in flight finish, and the shards are released so
 * another worker takes them at once.
 */
async function workerPlugin (app: FastifyInstance, opts: WorkerPluginOptions): Promise<void> {
  const { config } = opts
  const store = createWebhookStore(app.cassandra)
  const resolveHost = opts.resolveHost ?? createDnsResolver({ timeoutMs: config.RESOLVE_TIMEOUT_MS })
  const checkUrl = createUrlPolicy({
    publicBaseUrl: config.PUBLIC_BASE_URL,
    blockedDomains: listSetting(config.BLOCKED_DOMAINS),
    allowedNetworks: listSetting(config.ALLOWED_TARGET_NETWORKS),
    allowedHosts: listSetting(config.ALLOWED_TARGET_HOSTS),
    resolveHost
  })
  const leases = createShardLeases(app.cassandra, {
    workerId: config.WORKER_ID, leaseSeconds: config.EVENT_LEASE_SECONDS
  })
  const metrics = createMetrics(app.metrics, {
    shardsHeld: () => leases.shards().length, inFlight: () => work.inFlight()
  })
  const deliver = createDeliverer({
    checkUrl, resolveHost, timeoutMs: config.DELIVERY_TIMEOUT_MS, maxResponseBytes: config.DELIVERY_MAX_RESPONSE_BYTES
  })
  const work = createProcessor({
    queue: createQueue(app.cassandra),
    store,
    confirmer: createConfirmer(app.cassandra),
    deliver,
    metrics,
    log: app.log
  }, {
    retryForMs: config.DELIVERY_RETRY_SECONDS * 1000,
    backoff: { baseMs: config.DELIVERY_BACKOFF_BASE_MS, maxMs: config.DELIVERY_BACKOFF_MAX_MS },
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
    concurrency: config.DELIVERY_CONCURRENCY,
    perEndpoint: config.DELIVERY_CONCURRENCY_PER_ENDPOINT,
    settleMs: SETTLE_MS,
    firstLookbackSlots: 60,
    slotsPerPass: 60,
    rowsPerSlot: 1000
  })
  let held = new Set<number>()

  async function leaseRound (): Promise<void> {
    await leases.refresh()
    const now = new Set(leases.shards())
    for (const shard of held) if (!now.has(shard)) work.dropShard(shard)
    if (now.size !== held.size) app.log.info({ shards: [...now] }, 'webhook queue shards held')
    held = now
  }

  async function queuePass (): Promise<void> {
    for (const shard of leases.shards()) await work.pass(shard)
  }

  const controller = new AbortController()
  let loops: Promise<unknown> | undefined
  app.addHook('onReady', async () => {
    const signal = controller.signal
    loops = Promise.all([
      runLoop('webhook leases', leaseRound, {
        intervalMs: Math.floor(config.EVENT_LEASE_SECONDS * 1000 / 3),
        signal,
        log: app.log,
        onError: () => metrics.leaseErrors.inc()
      }),
      runLoop('webhook queue', queuePass, {
        intervalMs: config.EVENT_POLL_INTERVAL_MS, signal, log: app.log, onError: () => metrics.passErrors.inc()
      })
    ])
  })

  app.addHook('preClose', async () => {
    controller.abort()
    if (loops) await loops
    await work.settle()
    await leases.releaseAll().catch((err: Error) => {
      app.log.warn({ err: err.message }, 'could not release the shard leases; they expire by themselves')
    })
  })
}

export default fp(workerPlugin, { name: 'sw-event-worker', fastify: '5.x', dependencies: ['sw-cassandra', 'sw-metrics'] })
