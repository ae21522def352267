import { InvalidExpiryError } from '@shortwave/common/errors'

export interface ExpiryInput {
  expiresAt?: string
  ttlSeconds?: number
}

// Date.parse alone accepts far too much (it rolls 2025-02-30 over into March, takes local time
// when the zone is missing), so the shape is checked first and the calendar date after.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i

export function parseInstant (text: string): Date | null {
  const match = ISO_8601.exec(text)
  if (!match) return null
  const [, year, month, day, hour, minute, second = '0', zone] = match
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null
  if (zone!.length > 1 && (Number(zone!.slice(1, 3)) > 23 || Number(zone!.slice(4)) > 59)) return null
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return null
  const ms = Date.parse(text.toUpperCase())
  return Number.isNaN(ms) ? null : new Date(ms)
}

function describeSeconds (seconds: number): string {
  const days = seconds / 86_400
  if (days >= 365 && Number.isInteger(days / 365)) return `${days / 365} year${days === 365 ? '' : 's'}`
  if (Number.isInteger(days)) return `${days} day${days === 1 ? '' : 's'}`
  return `${seconds} seconds`
}

/** When the link stops working, or null for never. Throws InvalidExpiryError saying what to fix. */
export function resolveExpiry (input: ExpiryInput, maxTtlSeconds: number, now = Date.now()): Date | null {
  const { expiresAt, ttlSeconds } = input
  if (expiresAt !== undefined && ttlSeconds !== undefined) {
    throw new InvalidExpiryError('send either expiresAt or ttlSeconds, not both')
  }
  const latest = now + maxTtlSeconds * 1000
  if (ttlSeconds !== undefined) {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) {
      throw new InvalidExpiryError(`ttlSeconds must be a whole number from 1 to ${maxTtlSeconds} (${describeSeconds(maxTtlSeconds)})`)
    }
    return new Date(now + ttlSeconds * 1000)
  }
  if (expiresAt === undefined) return null
  const date = parseInstant(expiresAt)
  if (!date) {
    throw new InvalidExpiryError('expiresAt must be an ISO-8601 date and time with a time zone, e.g. 2030-01-31T12:00:00Z')
  }
  if (date.getTime() <= now) throw new InvalidExpiryError(`expiresAt ${date.toISOString()} is in the past`)
  if (date.getTime() > latest) {
    throw new InvalidExpiryError(`expiresAt must be at most ${describeSeconds(maxTtlSeconds)} ahead (no later than ${new Date(latest).toISOString()})`)
  }
  return date
}
