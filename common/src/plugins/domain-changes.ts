import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DomainDirectory } from '../domain-directory.ts'
import type { Reloader } from '../reloader.ts'

// Keeps this replica's registry of domains current: loaded before the service answers, reloaded
// when create-service announces a change (a host registered or removed, on the domainChanges
// channel) and every reloadMs in case that message was missed (the subscriber was reconnecting).
// create-service follows webhook registrations the same way (reloadOnAnnouncements).

export interface DomainChangesOptions {
  directory: Pick<DomainDirectory, 'load' | 'changed' | 'start' | 'close'>
}

/**
 * Loads `target` when the app is ready, reloads it on every message on `channel` (and after each
 * reconnection: changes announced meanwhile reached nobody here) and every reloadMs. A subscribed
 * Redis connection can do nothing else, hence a connection of its own.
 */
export function reloadOnAnnouncements (
  app: FastifyInstance, channel: string, target: Pick<Reloader, 'load' | 'changed' | 'start' | 'close'>, what: string
): void {
  const subscriber = app.redis.duplicate({ enableAutoPipelining: false })

  subscriber.on('error', (err: Error) => app.log.warn({ err: err.message }, `redis ${what} subscriber error`))
  subscriber.on('message', (from: string) => { if (from === channel) target.changed() })
  function subscribe (): void {
    subscriber.subscribe(channel).then(() => {
      target.changed()
    }, (err: Error) => {
      app.log.warn({ err: err.message }, `could not subscribe to ${what} changes; retrying`)
      if (subscriber.status === 'ready') setTimeout(subscribe, 1000).unref()
    })
  }
  subscriber.on('ready', subscribe)

  app.addHook('onReady', async () => {
    // Cassandra down at start-up: the replica starts with what it has and the periodic reload
    // catches up.
    await target.load().catch((err: Error) => app.log.error({ err: err.message }, `could not load the ${what}; retrying`))
    target.start()
    subscriber.connect().catch(() => {})
  })
  app.addHook('onClose', async () => {
    target.close()
    subscriber.disconnect()
  })
}

async function domainChangesPlugin (app: FastifyInstance, opts: DomainChangesOptions): Promise<void> {
  reloadOnAnnouncements(app, app.redisKeys.domainChanges, opts.directory, 'domains')
}

export default fp(domainChangesPlugin, { name: 'sw-domain-changes', fastify: '5.x', dependencies: ['sw-redis', 'sw-cassandra'] })
