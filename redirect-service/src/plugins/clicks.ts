import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { createClickBuffer, type ClickBuffer, type FlushResult } from '../click-buffer.ts'

declare module 'fastify' {
  interface FastifyInstance {
    clicks: ClickBuffer
  }
}

export interface ClicksPluginOptions {
  flushIntervalMs: number
  maxFields: number
}

/**
 * The click buffer's lifecycle: flushes on a timer from onReady, stops the timer in preClose,
 * and flushes the rest in onClose — after in-flight requests have finished, and before the
 * Redis plugin (registered earlier, so closed later) disconnects its client.
 */
async function clicksPlugin (app: FastifyInstance, opts: ClicksPluginOptions): Promise<void> {
  // Unique per process, never reused: a restarted container keeps its hostname and pid, and a new
  // buffer that took over an old sequence would have its first chunks taken for repeats.
  const seqKey = app.redisKeys.clicksFlushedSeq(randomUUID())
  const buffer = createClickBuffer({
    redis: app.redis, hashKey: app.redisKeys.clicksPending, seqKey, maxFields: opts.maxFields
  })
  app.decorate('clicks', buffer)

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
    timer = setInterval(() => { buffer.flush().then(report) }, opts.flushIntervalMs).unref()
  })
  app.addHook('preClose', async () => { clearInterval(timer) })
  app.addHook('onClose', async () => {
    const result = await buffer.drain()
    if (result.error !== undefined) {
      app.log.error({ err: result.error, fields: result.failed }, 'final click flush failed; these clicks are lost')
      return
    }
    await buffer.forgetSequence().catch((err: unknown) => app.log.warn({ err, key: seqKey }, 'could not delete the click sequence key; it stays in Redis'))
  })
}

export default fp(clicksPlugin, { name: 'rd-clicks', fastify: '5.x', dependencies: ['sw-redis'] })
