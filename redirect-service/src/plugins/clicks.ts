import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { isBot } from '../bot-detector.ts'
import { CHUNK, createClickBuffer, type ClickBuffer, type ClickStats, type FlushResult } from '../click-buffer.ts'
import { createClickDimensions } from '../analytics/click-dimensions.ts'
import { createClickRecorder, type ClickRecorder, type RecorderFlush } from '../analytics/click-recorder.ts'
import { bundledCountryDatabase, openCountryLookup } from '../analytics/country-lookup.ts'
import { createDailySalt } from '../analytics/daily-salt.ts'
import { createUserAgentParser, type UserAgentParser } from '../analytics/user-agent-dimensions.ts'
import { createVisitorBuffer, type VisitorBuffer } from '../analytics/visitor-buffer.ts'
import saltAgreement from './salt-agreement.ts'

/** The clicks of this replica as the route, the metrics and shutdown see them. */
export interface Clicks {
  /** Counts a GET that was answered with a redirect (and keeps what analytics needs of it). */
  record: (key: string, request: FastifyRequest) => void
  /** Sends what is held: the clicks' own result, with the dimensions' failures added. */
  flush: () => Promise<FlushResult>
  drain: () => Promise<FlushResult>
  readonly stats: ClickStats
  /** Clicks waiting for their dimensions, and count fields held. */
  readonly bufferedFields: number
}

/** The analytics' parts, for the metrics. */
export interface Analytics {
  recorder: ClickRecorder
  dimensions: ClickBuffer
  visitors: VisitorBuffer
  userAgents: UserAgentParser
}

declare module 'fastify' {
  interface FastifyInstance {
    clicks: Clicks
    analytics: Analytics | null
  }
}

export interface ClicksPluginOptions {
  flushIntervalMs: number
  maxFields: number
  dimensions: false | {
    countryDatabase: string
    userAgentCacheSize: number
    maxPending: number
  }
}

// A HyperLogLog is read by the fold while its day still gets clicks (including those flushed
// just after midnight); three days leave room for a key-worker that was down a while.
const VISITORS_TTL_SECONDS = 3 * 86_400

/**
 * The click buffers' lifecycle: flushes on a timer from onReady, stops the timer in preClose,
 * and flushes the rest in onClose — after in-flight requests have finished, and before the
 * Redis plugin (registered earlier, so closed later) disconnects its client.
 */
async function clicksPlugin (app: FastifyInstance, opts: ClicksPluginOptions): Promise<void> {
  // Unique per process, never reused: a restarted container keeps its hostname and pid, and a new
  // buffer that took over an old sequence would have its first chunks taken for repeats.
  const instance = randomUUID()
  const seqKeys = [app.redisKeys.clicksFlushedSeq(instance)]
  const buffer = createClickBuffer({
    redis: app.redis, hashKey: app.redisKeys.clicksPending, seqKey: seqKeys[0]!, maxFields: opts.maxFields
  })
  const forgetters: Array<() => Promise<boolean>> = [() => buffer.forgetSequence()]
  let recorded = 0
  const stats: ClickStats = {
    get recorded () { return recorded },
    get flushed () { return buffer.stats.flushed },
    get flushErrors () { return buffer.stats.flushErrors },
    get dropped () { return buffer.stats.dropped }
  }

  if (opts.dimensions === false) {
    app.decorate('analytics', null)
    app.decorate('clicks', {
      record: (key: string, request: FastifyRequest) => {
        recorded++
        buffer.record(key, isBot(request.headers['user-agent']))
      },
      flush: () => buffer.flush(),
      drain: () => buffer.drain(),
      stats,
      get bufferedFields () { return buffer.bufferedFields }
    } satisfies Clicks)
  } else {
    const path = opts.dimensions.countryDatabase === '' ? bundledCountryDatabase() : opts.dimensions.countryDatabase
    const countries = await openCountryLookup(path)
    app.log.info({ countryDatabase: path, description: countries.description }, 'country database loaded')
    app.addHook('onClose', async () => countries.close())
    seqKeys.push(app.redisKeys.dimensionsFlushedSeq(instance))
    const dimensions = createClickBuffer({
      redis: app.redis,
      hashKey: app.redisKeys.dimensionsPending,
      seqKey: seqKeys[1]!,
      // Nine fields a link-day (eight dimensions and the audience), more with varied referrers.
      maxFields: opts.maxFields * 10,
      // Nine times the fields of the clicks' flush: in chunks of 100 a replica whose clicks spread
      // over 20,000 links took seconds to send them (one round trip after another). A chunk of 500
      // keeps Redis busy well under a millisecond per call (docs/benchmarks.md).
      chunk: CHUNK * 5
    })
    forgetters.push(() => dimensions.forgetSequence())
    const visitors = createVisitorBuffer({
      redis: app.redis,
      keyOf: app.redisKeys.visitors,
      maxHashes: opts.dimensions.maxPending * 2,
      ttlSeconds: VISITORS_TTL_SECONDS
    })
    const salt = createDailySalt()
    await app.register(saltAgreement, { salt })
    const userAgents = createUserAgentParser({ cacheSize: opts.dimensions.userAgentCacheSize })
    const recorder = createClickRecorder({
      clicks: buffer,
      dimensions,
      visitors,
      derive: createClickDimensions({ countries, userAgents }),
      salt,
      maxPending: opts.dimensions.maxPending
    })
    app.decorate('analytics', { recorder, dimensions, visitors, userAgents })
    const combined = (result: RecorderFlush): FlushResult => {
      if (result.visitorsError) app.log.warn({ err: result.visitorsError }, 'could not add unique visitors; retrying with the next flush')
      const error = result.clicks.error ?? result.dimensions.error
      return {
        flushed: result.clicks.flushed,
        failed: result.clicks.failed + result.dimensions.failed,
        ...(error !== undefined ? { error } : {})
      }
    }
    app.decorate('clicks', {
      record: (key: string, request: FastifyRequest) => {
        recorded++
        const url = request.raw.url ?? ''
        const at = url.indexOf('?')
        recorder.record(key, {
          referer: request.headers.referer,
          userAgent: request.headers['user-agent'],
          // nginx's $remote_addr: TRUST_PROXY names nginx alone, and nginx overwrites X-Forwarded-For.
          address: request.ip,
          query: at === -1 ? '' : url.slice(at + 1)
        })
      },
      flush: async () => combined(await recorder.flush()),
      drain: async () => combined(await recorder.drain()),
      stats,
      get bufferedFields () { return recorder.pending + buffer.bufferedFields }
    } satisfies Clicks)
  }

  // Redis down means one failure per interval: log when flushing starts failing and when it recovers.
  let failing = false
  function report (result: FlushResult): void {
    if (result.error !== undefined && !failing) {
      failing = true
      app.log.warn({ err: result.error, fields: result.failed }, 'click flush failed; keeping the clicks and retrying')
    } else if (result.error === undefined && failing && result.flushed > 0) {
      failing = false
      app.log.info({ clicks: result.flushed }, 'click flush recovered')
    }
  }

  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    timer = setInterval(() => { app.clicks.flush().then(report) }, opts.flushIntervalMs).unref()
  })
  app.addHook('preClose', async () => { clearInterval(timer) })
  app.addHook('onClose', async () => {
    const result = await app.clicks.drain()
    if (result.error !== undefined) {
      app.log.error({ err: result.error, fields: result.failed }, 'final click flush failed; these clicks are lost')
      return
    }
    for (const [i, forget] of forgetters.entries()) {
      await forget().catch((err: unknown) => app.log.warn({ err, key: seqKeys[i] }, 'could not delete the click sequence key; it stays in Redis'))
    }
  })
}

export default fp(clicksPlugin, { name: 'rd-clicks', fastify: '5.x', dependencies: ['sw-redis'] })
