import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DailySalt } from '../analytics/daily-salt.ts'

// The replicas' side of daily-salt.ts: each announces its offers on start, when a peer asks, when
// it hears an offer that loses to its own, and every ANNOUNCE_MS, on a channel (never a key). A
// subscribed connection can do nothing else, hence one of its own.

export interface SaltAgreementOptions {
  salt: Pick<DailySalt, 'receive' | 'announcements'>
  announceMs?: number
}

const ANNOUNCE_MS = 10_000
const ASK = 'ask'

async function saltAgreementPlugin (app: FastifyInstance, opts: SaltAgreementOptions): Promise<void> {
  const channel = app.redisKeys.visitorSalt
  const subscriber = app.redis.duplicate({ enableAutoPipelining: false })

  function announce (): void {
    for (const offer of opts.salt.announcements()) {
      app.redis.publish(channel, JSON.stringify(offer)).catch(() => {})
    }
  }

  subscriber.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis salt subscriber error'))
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return
    if (message === ASK) return announce()
    let offer: unknown
    try {
      offer = JSON.parse(message)
    } catch {
      return
    }
    // A peer offering a salt that loses to ours is told at once, rather than at the next announcement.
    if (opts.salt.receive(offer) === 'loses') announce()
  })
  function subscribe (): void {
    subscriber.subscribe(channel).then(() => {
      app.redis.publish(channel, ASK).catch(() => {})
      announce()
    }, (err: Error) => {
      app.log.warn({ err: err.message }, 'could not subscribe to the visitor salt channel; retrying')
      if (subscriber.status === 'ready') setTimeout(subscribe, 1000).unref()
    })
  }
  subscriber.on('ready', subscribe)
  subscriber.connect().catch(() => {})

  const timer = setInterval(announce, opts.announceMs ?? ANNOUNCE_MS).unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    subscriber.disconnect()
  })
}

export default fp(saltAgreementPlugin, { name: 'rd-salt-agreement', fastify: '5.x', dependencies: ['sw-redis'] })
