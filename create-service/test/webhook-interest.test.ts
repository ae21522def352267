import { ALL_LINKS } from '@shortwave/common/webhook-store'
import { describe, expect, it } from 'vitest'
import { createWebhookInterest } from '../src/webhook-interest.ts'

// Pure logic over a stand-in for the subscriptions table (tests/webhooks.test.ts runs the real one).
function interestOver (subscriptions: Record<string, string[]>, clock = { now: 0 }) {
  let fail = false
  const interest = createWebhookInterest({
    store: {
      subscribedScopes: async (type) => {
        if (fail) throw new Error('Cassandra is down')
        return new Set(subscriptions[type] ?? [])
      }
    },
    reloadMs: 1000,
    onError: () => {},
    now: () => clock.now
  })
  return { interest, clock, failing: (value: boolean) => { fail = value } }
}

describe('which link changes some webhook wants', () => {
  it('wants every change until the subscriptions are loaded', () => {
    const { interest } = interestOver({})
    expect(interest.wants('link.created', null)).toBe(true)
    expect(interest.wants('link.deleted', 'ak_1')).toBe(true)
  })

  it('wants a change of an owner whose webhook asked for its type, or of anyone for an admin\'s', async () => {
    const { interest } = interestOver({ 'link.created': ['ak_1'], 'link.deleted': [ALL_LINKS] })
    await interest.load()
    expect(interest.wants('link.created', 'ak_1')).toBe(true)
    expect(interest.wants('link.created', 'ak_2')).toBe(false)
    expect(interest.wants('link.created', null)).toBe(false)
    expect(interest.wants('link.updated', 'ak_1')).toBe(false)
    expect(interest.wants('link.deleted', null)).toBe(true)
    expect(interest.wants('link.deleted', 'ak_2')).toBe(true)
  })

  it('wants every change again once its view is three reloads old (Cassandra unreachable)', async () => {
    const { interest, clock, failing } = interestOver({})
    await interest.load()
    expect(interest.wants('link.created', 'ak_1')).toBe(false)
    failing(true)
    clock.now += 2000
    await interest.load().catch(() => {})
    expect(interest.wants('link.created', 'ak_1')).toBe(false)
    clock.now += 1500
    expect(interest.wants('link.created', 'ak_1')).toBe(true)
  })
})
