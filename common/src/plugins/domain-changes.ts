import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DomainDirectory } from '../domain-directory.ts'

// Keeps this replica's registry of domains current: loaded before the service answers, reloaded
// when create-service announces a change (a host registered or removed, on the domainChanges
// channel) and every reloadMs in case that message was missed (the subscriber was reconnecting).
// A subscribed Redis connection can do nothing else, hence a connection of its own.

export interface DomainChangesOptions {
  directory: Pick<DomainDirectory, 'load' | 'changed' | 'start' | 'close'>
}

async function domainChangesPlugin (app: FastifyInstance, opts: DomainChangesOptions): Promise<void> {
  const { directory } = opts
  const channel = app.redisKeys.domainChanges
  const subscriber = app.redis.duplicate({ enableAutoPipelining: false })

  subscriber.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis domain subscriber error'))
  subscriber.on('message', (from: string) => { if (from === channel) directory.changed() })
  function subscribe (): void {
    subscriber.subscribe(channel).then(() => {
      // Changes made while this connection was down were announced to nobody here.
      directory.changed()
    }, (err: Error) => {
      app.log.warn({ err: err.message }, 'could not subscribe to domain changes; retrying')
      if (subscriber.status === 'ready') setTimeout(subscribe, 1000).unref()
    })
  }
  subscriber.on('ready', subscribe)

  app.addHook('onReady', async () => {
    // Cassandra down at start-up: the replica starts with no custom domain and the periodic reload
    // catches up; the default domain does not depend on the registry.
    await directory.load().catch((err: Error) => app.log.error({ err: err.message }, 'could not load the domains; retrying'))
    directory.start()
    subscriber.connect().catch(() => {})
  })
  app.addHook('onClose', async () => {
    directory.close()
    subscriber.disconnect()
  })
}

export default fp(domainChangesPlugin, { name: 'sw-domain-changes', fastify: '5.x', dependencies: ['sw-redis', 'sw-cassandra'] })
