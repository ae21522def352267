import { describe, expect, it } from 'vitest'
import { createDailySalt } from '../src/analytics/daily-salt.ts'

const NOON = Date.UTC(2026, 5, 15, 12)
let counter = 0
// Distinct, well-formed hex of the length asked for.
const random = (bytes: number): string => (++counter).toString(16).padStart(bytes * 2, '0')
const hex = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, '0')

describe('the daily visitor salt', () => {
  it('keeps one salt per UTC day, and a new one the next day', () => {
    let now = NOON
    const salt = createDailySalt({ now: () => now, random })
    const today = salt.saltFor('2026-06-15')
    expect(salt.saltFor('2026-06-15')).toBe(today)
    now += 86_400_000
    expect(salt.saltFor('2026-06-16')).not.toBe(today)
    expect(salt.saltFor('2026-06-15')).toBe(today)
  })

  it('adopts the offer with the smallest id, and says when a peer\'s offer loses to its own', () => {
    const salt = createDailySalt({ now: () => NOON, random })
    const [mine] = salt.announcements()
    expect(mine!.day).toBe('2026-06-15')
    const smaller = { day: '2026-06-15', id: hex(0, 16), salt: hex(7, 32) }
    const larger = { day: '2026-06-15', id: 'f'.repeat(32), salt: hex(8, 32) }
    expect(salt.receive(larger)).toBe('loses')
    expect(salt.saltFor('2026-06-15')).toBe(mine!.salt)
    expect(salt.receive(smaller)).toBe('adopted')
    expect(salt.saltFor('2026-06-15')).toBe(smaller.salt)
    expect(salt.receive(smaller)).toBe('same')
    expect(salt.announcements()[0]).toEqual(smaller)
  })

  it('converges: replicas that hear each other\'s offers end with the same salt, whatever the order', () => {
    const replicas = Array.from({ length: 4 }, () => createDailySalt({ now: () => NOON }))
    const offers = replicas.flatMap((r) => r.announcements())
    for (const r of replicas.reverse()) for (const offer of offers) r.receive(offer)
    const salts = new Set(replicas.map((r) => r.saltFor('2026-06-15')))
    expect(salts.size).toBe(1)
    expect(new Set(replicas.map((r) => r.saltFor('2026-06-16'))).size).toBe(1)
  })

  it('ignores malformed offers and days that can have no clicks', () => {
    const salt = createDailySalt({ now: () => NOON, random })
    const before = salt.saltFor('2026-06-15')
    for (const offer of [
      null, 'ask', { day: '2026-06-15' }, { day: '2026-06-15', id: 'zz', salt: hex(1, 32) },
      { day: '2026-06-15', id: hex(0, 16), salt: 'not hex' }, { day: '2026-06-10', id: hex(0, 16), salt: hex(1, 32) },
      { day: '2026-06-18', id: hex(0, 16), salt: hex(1, 32) }
    ]) expect(salt.receive(offer)).toBe('ignored')
    expect(salt.saltFor('2026-06-15')).toBe(before)
  })

  it('forgets days older than yesterday when it announces', () => {
    let now = NOON
    const salt = createDailySalt({ now: () => now, random })
    salt.saltFor('2026-06-15')
    now += 3 * 86_400_000
    salt.announcements()
    expect(salt.days).toEqual(['2026-06-18', '2026-06-19'])
  })
})
