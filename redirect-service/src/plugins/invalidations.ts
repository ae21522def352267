import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

// create-service publishes the key of every link it deletes; this replica drops the key from its
// in-process cache, so a hot link stops redirecting at once rather than when its entry expires.
// A subscribed Redis connection can do nothing else, hence a connection of its own. If it is
// down when a message is sent, the message is lost: the local TTL (a few seconds) is the bound.

export interface InvalidationsOptions {
  evict: (key: string) => void
}

async function invalidationsPlugin (app: FastifyInstance, opts: InvalidationsOptions): Promise<void> {
  const channel = app.redisKeys.linkInvalidations
  // Same server and timeouts as the shared client; nothing to pipeline on a subscriber.
  const subscriber = app.redis.duplicate({ enableAutoPipelining: false })

  subscriber.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis subscriber error'))
  subscriber.on('message', (from: string, key: string) => {
    if (from !== channel) return
    opts.evict(key)
  })
  // On every (re)connection, and again a moment after a failed attempt: a Redis restart or a
  // slow answer must not leave this replica deaf. Subscribing twice to a channel is harmless.
  function subscribe (): void {
    subscriber.subscribe(channel).catch((err: Error) => {
      app.log.warn({ err: err.message }, 'could not subscribe to link invalidations; retrying')
      if (subscriber.status === 'ready') setTimeout(subscribe, 1000).unref()
    })
  }
  subscriber.on('ready', subscribe)
  // In the background: a Redis outage at start-up must not delay the replica.
  subscriber.connect().catch(() => {})

  app.addHook('onClose', async () => { subscriber.disconnect() })
}

export default fp(invalidationsPlugin, { name: 'rd-invalidations', fastify: '5.x', dependencies: ['sw-redis'] })
