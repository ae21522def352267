import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { RedisConfig } from '../config.ts'
import { redisKeys, type RedisKeys } from '../redis-keys.ts'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    redisKeys: RedisKeys
  }
}

/**
 * Redis only holds what may be lost, so a Redis outage must never block a request: no offline
 * queue (commands fail at once while disconnected), one attempt per command, a short timeout,
 * and reconnection forever in the background.
 */
export function createRedisClient (config: RedisConfig, options: { autoPipelining?: boolean } = {}): Redis {
  return new Redis(config.REDIS_URL, {
    lazyConnect: true,
    // Commands issued in the same tick leave in one write: under concurrent requests one
    // syscall carries many commands instead of one each. Opt-in, because whether it pays is
    // measured per service: create-service gains from it, redirect-service lost more in garbage
    // collection than it saved (docs/benchmarks.md).
    enableAutoPipelining: options.autoPipelining ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_TIMEOUT_MS,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000)
  })
}

/** Connects, but does not fail the boot when Redis is down: services degrade instead. */
export async function connectRedis (client: Redis, waitMs = 3000): Promise<boolean> {
  if (client.status === 'ready') return true
  if (client.status === 'wait') client.connect().catch(() => {})
  // Not events.once: it rejects on the first 'error', and a refused connection must not fail the
  // boot. ioredis keeps retrying; only 'ready' or the deadline ends the wait.
  return new Promise<boolean>((resolve) => {
    const finish = (ready: boolean): void => {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ready)
    }
    const onReady = (): void => finish(true)
    const timer = setTimeout(finish, waitMs, false).unref()
    client.once('ready', onReady)
  })
}

export interface RedisPluginOptions {
  config: RedisConfig
  /** A client owned by the caller (tests); the plugin then does not close it. */
  client?: Redis
  /** For a client the plugin creates: batch the commands of one tick into one write (request-heavy services). */
  autoPipelining?: boolean
}

async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions): Promise<void> {
  const owned = opts.client === undefined
  const client = opts.client ?? createRedisClient(opts.config, { autoPipelining: opts.autoPipelining })
  // Without a listener ioredis reports every failed reconnect as an unhandled 'error' event.
  client.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis error'))
  if (!await connectRedis(client)) app.log.warn('redis is not reachable at start-up; continuing degraded')
  app.decorate('redis', client)
  app.decorate('redisKeys', redisKeys(opts.config.REDIS_KEY_PREFIX))
  if (owned) app.addHook('onClose', async () => { client.disconnect() })
}

export default fp(redisPlugin, { name: 'sw-redis', fastify: '5.x' })
