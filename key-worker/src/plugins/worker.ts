import { createClickRollups } from '@shortwave/common/click-rollups'
import { createKeyPool } from '@shortwave/common/key-pool'
import { createLinkIndex } from '@shortwave/common/link-index'
import type { KeyGenerator } from '@shortwave/common/keys'
import { createLinkRepository, type ClaimResult } from '@shortwave/common/link-repository'
import { createOutbox } from '@shortwave/common/webhook-outbox'
import { createWebhookStore } from '@shortwave/common/webhook-store'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { performance } from 'node:perf_hooks'
import { createClickEvents } from '../click-events.ts'
import { createClickFolder } from '../click-folder.ts'
import { createDimensionFolder } from '../dimension-folder.ts'
import { createOwnerLookup } from '../owner-lookup.ts'
import { rankFolded } from '../click-rank.ts'
import type { Config } from '../config.ts'
import { runLoop } from '@shortwave/common/loop'
import { createMetrics } from '../metrics.ts'
import { sweepOwnerIndex, type SweepDeps } from '../owner-index-sweeper.ts'
import { refillPool } from '../pool-refiller.ts'
import { sweepRetention } from '../stats-retention.ts'

// Dimensions are folded every fifth pass (5 s by default): a link-day's counter rows, about ten,
// are written once for five seconds of its clicks instead of once a second. Counter updates are
// what Cassandra spends its time on under the redirect load (docs/benchmarks.md).
const DIMENSION_FOLD_EVERY = 5
// What a stopping worker spends on folding dimensions still pending; the rest is adopted.
const FINAL_DIMENSION_FOLD_MS = 2000

export interface WorkerPluginOptions {
  config: Config
  generator: Pick<KeyGenerator, 'batch'>
}

/**
 * The key-worker's background work: the refill and click-fold loops, and the owner-index sweep.
 * They start once the app is ready and stop before the Redis and Cassandra clients close,
 * finishing the pass in progress (the sweep: its page in progress) and folding the clicks
 * recorded meanwhile one last time.
 *
 * What is not cleaned up, on purpose:
 * - Redis cache entries: every one carries a TTL (a link's capped at its expiry, see
 *   link-cache.ts), so Redis drops them itself.
 * - Claimed keys that never reach a link (popped by a process that died, flushed with Redis, not
 *   pooled because SADD failed, or leased by a replica that stopped): their rows stay 'pooled' or
 *   'leased' for good. Only a lease makes a key usable, so a lost chunk could be offered again
 *   safely, but finding one would mean scanning the table; keys are plentiful, and a few lost
 *   ones cost nothing.
 */
async function workerPlugin (app: FastifyInstance, opts: WorkerPluginOptions): Promise<void> {
  const { config } = opts
  const redis = app.redis
  const keys = app.redisKeys
  const repo = createLinkRepository(app.cassandra)
  const pool = createKeyPool(redis, keys)
  const metrics = createMetrics(app.metrics, { poolDepth: () => pool.depth(config.CLAIM_BATCH_SIZE) })
  // A worker that stops heartbeating for this long is presumed dead and its clicks adopted.
  const heartbeatTtlMs = Math.max(15_000, 5 * config.CLICK_FOLD_INTERVAL_MS)

  const refillDeps = {
    pool,
    repo,
    generator: opts.generator,
    onBatch: (result: ClaimResult, seconds: number) => {
      metrics.batches.inc()
      metrics.claimed.inc(result.claimed.length)
      metrics.conflicts.inc(result.conflicts.length)
      metrics.batchDuration.observe(seconds)
    }
  }
  const refillSettings = {
    workerId: config.WORKER_ID,
    highWater: config.POOL_HIGH_WATER,
    batchSize: config.CLAIM_BATCH_SIZE,
    concurrency: config.CLAIM_CONCURRENCY
  }

  // link.clicked webhook events, one per link per fold pass (click-events.ts).
  const clickEvents = createClickEvents({
    outbox: createOutbox(app.cassandra), store: createWebhookStore(app.cassandra)
  })

  const folder = createClickFolder({
    redis,
    keys,
    repo,
    workerId: config.WORKER_ID,
    heartbeatTtlMs,
    onFolded: (group) => {
      toRank.add(group.key)
      clickEvents.add(group)
      if (group.clicks > 0) metrics.clicksFolded.inc({ audience: 'people' }, group.clicks)
      if (group.botClicks > 0) metrics.clicksFolded.inc({ audience: 'bot' }, group.botClicks)
    },
    onRejected: (fields) => {
      metrics.foldErrors.inc({ reason: 'malformed_field' }, fields.length)
      app.log.warn({ fields: fields.slice(0, 10), count: fields.length }, 'dropped malformed click fields')
    }
  })

  const rollups = createClickRollups(app.cassandra)
  const dimensionFolder = createDimensionFolder({
    redis,
    keys,
    rollups,
    ownerOf: createOwnerLookup(repo),
    workerId: config.WORKER_ID,
    heartbeatTtlMs,
    visitorsTtlSeconds: 3 * 86_400,
    onFolded: (group, people) => {
      if (people > 0) metrics.dimensionsFolded.inc(people)
    },
    onRejected: (fields) => {
      metrics.foldErrors.inc({ reason: 'malformed_dimension' }, fields.length)
      app.log.warn({ fields: fields.slice(0, 10), count: fields.length }, 'dropped malformed click dimension fields')
    }
  })

  // The links folded since they were last ranked (the list's sort=clicks; click-rank.ts). Kept
  // across a failed ranking, so the next pass moves them.
  const toRank = new Set<string>()
  const rankDeps = { repo, index: createLinkIndex(app.cassandra) }
  async function rankPass (): Promise<void> {
    const keys = [...toRank]
    await rankFolded(rankDeps, keys)
    for (const key of keys) toRank.delete(key)
  }

  // Our own leftovers are folded on the first pass, other workers' once their heartbeat is gone.
  let nextLeftoverScan = 0
  let foldPasses = 0
  async function foldPass (signal: AbortSignal): Promise<void> {
    if (Date.now() >= nextLeftoverScan) {
      await folder.foldLeftovers()
      await dimensionFolder.foldLeftovers(signal)
      nextLeftoverScan = Date.now() + heartbeatTtlMs
    }
    await folder.foldPending()
    if (++foldPasses % DIMENSION_FOLD_EVERY === 0) await dimensionFolder.foldPending(signal)
    await rankPass()
    await clickEvents.flush()
  }

  const sweepSettings = {
    graceMs: config.OWNER_SWEEP_GRACE_SECONDS * 1000,
    rowsPerSecond: config.OWNER_SWEEP_ROWS_PER_SECOND
  }
  const sweepDeps: SweepDeps = {
    repo,
    onScanned: (entries) => metrics.ownerIndexScanned.inc(entries),
    onRemoved: (reason) => metrics.ownerIndexRemoved.inc({ reason })
  }
  async function sweepPass (signal: AbortSignal): Promise<void> {
    const started = performance.now()
    const outcome = await sweepOwnerIndex(sweepDeps, sweepSettings, { signal })
    const seconds = (performance.now() - started) / 1000
    if (outcome.complete) metrics.ownerSweepDuration.observe(seconds)
    app.log.info({ ...outcome, seconds: Number(seconds.toFixed(1)) }, outcome.complete ? 'owner index swept' : 'owner index sweep stopped by shutdown')
  }

  const controller = new AbortController()
  let loops: Promise<unknown> | undefined

  app.addHook('onReady', async () => {
    const signal = controller.signal
    loops = Promise.all([
      runLoop('refill', (s) => refillPool(refillDeps, refillSettings, s), {
        intervalMs: config.REFILL_INTERVAL_MS, signal, log: app.log, onError: () => metrics.refillErrors.inc()
      }),
      runLoop('click fold', foldPass, {
        intervalMs: config.CLICK_FOLD_INTERVAL_MS, signal, log: app.log, onError: () => metrics.foldErrors.inc({ reason: 'pass' })
      }),
      config.STATS_RETENTION_MONTHS > 0 && runLoop('stats retention', async (s) => {
        // One sweep per interval across all workers, however often they restart.
        const intervalMs = config.STATS_RETENTION_SWEEP_SECONDS * 1000
        if (await redis.set(keys.statsRetentionSwept, config.WORKER_ID, 'PX', intervalMs, 'NX') === null) return
        const dropped = await sweepRetention({ rollups }, config.STATS_RETENTION_MONTHS, s)
        if (dropped > 0) app.log.info({ scopeMonths: dropped }, 'expired analytics past STATS_RETENTION_MONTHS')
        metrics.statsExpired.inc(dropped)
      }, {
        // Checks often, sweeps once an interval (the key above): a worker that started after the
        // sweeper died takes over within a minute of the interval's end.
        intervalMs: 60_000, signal, log: app.log, onError: () => metrics.foldErrors.inc({ reason: 'retention' })
      }),
      // 0 turns the sweep off.
      config.OWNER_SWEEP_INTERVAL_SECONDS > 0 && runLoop('owner index sweep', sweepPass, {
        intervalMs: config.OWNER_SWEEP_INTERVAL_SECONDS * 1000,
        signal,
        log: app.log,
        onError: () => metrics.ownerSweepErrors.inc()
      })
    ])
  })

  app.addHook('preClose', async () => {
    controller.abort()
    if (!loops) return
    await loops
    try {
      await folder.foldPending()
      // Dimensions may have a backlog (a burst over many links): a stop folds what it can in a
      // moment and leaves the rest to whichever worker adopts it.
      await dimensionFolder.foldPending(AbortSignal.timeout(FINAL_DIMENSION_FOLD_MS))
      await folder.stopHeartbeat()
      await rankPass()
      await clickEvents.flush()
    } catch (err) {
      metrics.foldErrors.inc({ reason: 'pass' })
      app.log.error({ err }, 'final click fold failed; another worker adopts the clicks once our heartbeat expires')
    }
  })
}

export default fp(workerPlugin, { name: 'sw-key-worker', fastify: '5.x', dependencies: ['sw-redis', 'sw-cassandra', 'sw-metrics'] })
