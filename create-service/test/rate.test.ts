import { describe, expect, it } from 'vitest'
import { formatRate, parseRate, rateOf } from '../src/rate.ts'

describe('rates', () => {
  it.each([
    ['600/min', { quota: 600, windowSeconds: 60 }],
    ['10/s', { quota: 10, windowSeconds: 1 }],
    ['5000/h', { quota: 5000, windowSeconds: 3600 }],
    ['100000/day', { quota: 100_000, windowSeconds: 86_400 }],
    [' 60/min ', { quota: 60, windowSeconds: 60 }],
    ['unlimited', null]
  ])('reads %j', (text, rate) => {
    expect(parseRate(text)).toEqual(rate)
  })

  it.each(['', '60', '0/min', '-5/min', '1.5/min', '60/minute', '60/week', '60 / min', '060/min', '1000000000/s', 'Unlimited', '60/min/s'])('refuses %j, saying what a rate looks like', (text) => {
    expect(() => parseRate(text)).toThrow(/is not a rate: expected a count per s, min, h or day, e\.g\. 600\/min, or unlimited/)
  })

  it('writes every rate it reads back the same way', () => {
    for (const text of ['600/min', '10/s', '5000/h', '100000/day', 'unlimited']) expect(formatRate(parseRate(text))).toBe(text)
  })

  it('turns the older count and window in milliseconds into a rate, rounding the window up to seconds', () => {
    expect(rateOf(60, 60_000)).toEqual({ quota: 60, windowSeconds: 60 })
    expect(rateOf(5, 1500)).toEqual({ quota: 5, windowSeconds: 2 })
    expect(formatRate(rateOf(5, 90_000))).toBe('5 per 90 s')
  })
})
