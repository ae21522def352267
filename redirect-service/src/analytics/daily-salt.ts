import { randomBytes } from 'node:crypto'

// Unique visitors are counted from a hash of (salt, address, user agent). The salt must be the
// same on every replica (a visitor whose clicks land on two replicas is one visitor), change every
// UTC day (yesterday's hashes cannot be linked to today's), and never be written to disk (with it,
// a hash could be tested against a guessed address). So it is agreed over Redis pub/sub: a
// PUBLISH changes no key, so it is in no snapshot and no append-only file. Every replica offers a
// random salt per day under a random id and adopts any offer with a smaller id than its own; all
// replicas hold the smallest id within one announcement period. If every replica restarts, the day
// gets a new salt, and its visitors may be counted twice: the price of keeping it off disk.

export interface SaltOffer {
  day: string
  /** Random, compared as text: the smallest offer of a day wins. */
  id: string
  salt: string
}

const DAY = /^\d{4}-\d{2}-\d{2}$/
const HEX = /^[0-9a-f]{32,64}$/
const DAY_MS = 86_400_000

export interface DailySaltOptions {
  now?: () => number
  random?: (bytes: number) => string
}

export function createDailySalt (opts: DailySaltOptions = {}) {
  const now = opts.now ?? Date.now
  const random = opts.random ?? ((bytes: number) => randomBytes(bytes).toString('hex'))
  const offers = new Map<string, SaltOffer>()

  function dayAt (offsetDays: number): string {
    return new Date(now() + offsetDays * DAY_MS).toISOString().slice(0, 10)
  }

  function offerFor (day: string): SaltOffer {
    let offer = offers.get(day)
    if (offer === undefined) {
      offer = { day, id: random(16), salt: random(32) }
      offers.set(day, offer)
    }
    return offer
  }

  return {
    /** The salt of a UTC day (a click is hashed with the salt of the day it was counted on). */
    saltFor (day: string): string {
      return offerFor(day).salt
    },

    /**
     * A peer's offer (or our own, back from the channel): 'adopted' when it wins, 'loses' when ours
     * is smaller (the peer should hear ours), 'same' for the offer we hold, 'ignored' otherwise.
     */
    receive (offer: unknown): 'adopted' | 'loses' | 'same' | 'ignored' {
      // Only days that can still have clicks: yesterday (flushed just after midnight) to tomorrow.
      if (!isOffer(offer) || offer.day < dayAt(-1) || offer.day > dayAt(1)) return 'ignored'
      const mine = offers.get(offer.day)
      if (mine !== undefined && mine.id === offer.id) return 'same'
      if (mine !== undefined && mine.id < offer.id) return 'loses'
      offers.set(offer.day, { day: offer.day, id: offer.id, salt: offer.salt })
      return 'adopted'
    },

    /** The offers to publish now (today's and tomorrow's); forgets days older than yesterday. */
    announcements (): SaltOffer[] {
      const oldest = dayAt(-1)
      for (const day of offers.keys()) if (day < oldest) offers.delete(day)
      return [offerFor(dayAt(0)), offerFor(dayAt(1))]
    },

    /** Days held, for tests and the start-up log (never the salts). */
    get days (): string[] {
      return [...offers.keys()].sort()
    }
  }
}
export type DailySalt = ReturnType<typeof createDailySalt>

function isOffer (value: unknown): value is SaltOffer {
  if (typeof value !== 'object' || value === null) return false
  const { day, id, salt } = value as Record<string, unknown>
  return typeof day === 'string' && DAY.test(day) && typeof id === 'string' && HEX.test(id) &&
    typeof salt === 'string' && HEX.test(salt)
}
