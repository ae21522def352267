import { DEFAULT_DOMAIN, normalizeHost } from '@shortwave/common/domains'
import { InvalidCursorError } from '@shortwave/common/errors'
import { canBeKey } from '@shortwave/common/keys'
import type { ListOrder, ListPosition } from '@shortwave/common/link-index'
import type { OwnedPosition } from '@shortwave/common/link-repository'

// A page cursor names the last entry a page looked at (its creation time, or its clicks, and its
// key), so the next page starts right after it whatever was created or deleted meanwhile. It is
// opaque to clients: base64url of a small JSON object, checked field by field when it comes back.
// It also names the sort and order it was made for: a position by clicks means nothing in a
// listing by creation time. Cursors made before sorting existed ({t, k}) are newest-first ones.
// In a listing of every domain it names the entry's domain too (d, left out for the default one).

export type ListSort = 'created' | 'clicks'

export interface ListCursor {
  sort: ListSort
  order: ListOrder
  position: ListPosition
}

export function encodeCursor (position: OwnedPosition): string {
  return encodeListCursor({ sort: 'created', order: 'desc', position: { value: position.createdAt.getTime(), key: position.key } })
}

export function encodeListCursor (cursor: ListCursor): string {
  const { sort, order, position } = cursor
  const fields = sort === 'created' && order === 'desc' ? {} : { s: sort, o: order }
  const domain = position.domain === undefined || position.domain === DEFAULT_DOMAIN ? {} : { d: position.domain }
  return Buffer.from(JSON.stringify({ t: position.value, k: position.key, ...fields, ...domain })).toString('base64url')
}

function invalid (detail = ''): never {
  throw new InvalidCursorError(`cursor is not valid${detail}; pass the nextCursor of a previous page, or leave it out to start at the first link`)
}

export function decodeCursor (cursor: string): OwnedPosition {
  const { position } = decodeListCursor(cursor, 'created', 'desc')
  return { createdAt: new Date(position.value), key: position.key }
}

/** The position a cursor names, if it was made for a listing with this sort and order. */
export function decodeListCursor (cursor: string, sort: ListSort, order: ListOrder): ListCursor {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parsed = null
  }
  const { t, k, s = 'created', o = 'desc', d = DEFAULT_DOMAIN } = (parsed ?? {}) as { t?: unknown, k?: unknown, s?: unknown, o?: unknown, d?: unknown }
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || typeof k !== 'string' || !canBeKey(k)) invalid()
  if (typeof d !== 'string' || (d !== DEFAULT_DOMAIN && normalizeHost(d) !== d)) invalid()
  if (s !== sort || o !== order) {
    invalid(` for sort=${sort}&order=${order}: it was made for sort=${String(s).slice(0, 10)}&order=${String(o).slice(0, 10)}`)
  }
  return { sort, order, position: { value: t, key: k, ...(d === DEFAULT_DOMAIN ? {} : { domain: d }) } }
}
