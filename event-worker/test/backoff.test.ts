import { Webhook } from 'standardwebhooks'
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../src/backoff.ts'

const settings = { baseMs: 5000, maxMs: 3_600_000 }

describe('retryDelayMs', () => {
  it('doubles from the base with each failed attempt', () => {
    const top = (attempt: number) => retryDelayMs(attempt, settings, () => 0.999999)
    expect([1, 2, 3, 4].map(top)).toEqual([5000, 10_000, 20_000, 40_000])
  })

  it('draws each delay between half and all of it', () => {
    expect(retryDelayMs(3, settings, () => 0)).toBe(10_000)
    expect(retryDelayMs(3, settings, () => 0.5)).toBe(15_000)
  })

  it('stops growing at the cap, however many attempts failed', () => {
    expect(retryDelayMs(30, settings, () => 0.9999999999)).toBe(3_600_000)
    expect(retryDelayMs(5000, settings, () => 0)).toBe(1_800_000)
  })

  it('retries for 24 h with a few dozen attempts at the defaults', () => {
    let elapsed = 0
    let attempts = 1
    while (elapsed < 86_400_000) elapsed += retryDelayMs(attempts++, settings, () => 0.5)
    expect(attempts).toBeGreaterThan(20)
    expect(attempts).toBeLessThan(50)
  })
})

describe('the signature standardwebhooks makes', () => {
  it('is v1, the base64 HMAC-SHA256 of "id.timestamp.body" keyed with the decoded secret', () => {
    const key = Buffer.alloc(32, 9)
    const secret = `whsec_${key.toString('base64')}`
    const at = new Date('2026-12-06T03:00:00Z')
    const body = '{"type":"link.created"}'
    const signature = new Webhook(secret).sign('msg_1', at, body)
    const expected = createHmac('sha256', key).update(`msg_1.${at.getTime() / 1000}.${body}`).digest('base64')
    expect(signature).toBe(`v1,${expected}`)
  })
})
