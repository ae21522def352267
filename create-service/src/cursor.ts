import { InvalidCursorError } from '@shortwave/common/errors'
import { canBeKey } from '@shortwave/common/keys'
import type { OwnedPosition } from '@shortwave/common/link-repository'

// A page cursor names the last link a page showed (its creation time and key), so the next page
// starts right after it whatever was created or deleted meanwhile. It is opaque to clients:
// base64url of a small JSON object, checked field by field when it comes back.

export function encodeCursor (position: OwnedPosition): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt.getTime(), k: position.key })).toString('base64url')
}

export function decodeCursor (cursor: string): OwnedPosition {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parsed = null
  }
  const { t, k } = (parsed ?? {}) as { t?: unknown, k?: unknown }
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || typeof k !== 'string' || !canBeKey(k)) {
    throw new InvalidCursorError('cursor is not valid; pass the nextCursor of a previous page, or leave it out to start at the newest link')
  }
  return { createdAt: new Date(t), key: k }
}
