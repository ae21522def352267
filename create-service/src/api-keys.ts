import { IDEMPOTENT } from '@shortwave/common/link-repository'
import type cassandra from 'cassandra-driver'
import { createHash, randomBytes } from 'node:crypto'
import { RATE_EXAMPLE, UNLIMITED, formatRate, parseRate, type Rate } from './rate.ts'

// API keys are random secrets shown once, when they are created. Only their SHA-256 hash is
// stored: a secret of 256 random bits needs no salt or slow hash, and a leaked table lets
// nobody in. Keys are looked up by hash on every authenticated request, and by id (which is
// not secret: it names the owner of links and appears in logs) to revoke them.
//
// Every statement here may run twice with the same outcome (reads, and writes of fixed values),
// so all are marked idempotent: a request whose lookup was on a dying node is retried, not failed.

export const API_KEY_ROLES = ['user', 'admin'] as const
export type ApiKeyRole = typeof API_KEY_ROLES[number]

export const API_KEY_NAME_MAX = 64

const SECRET_PREFIX = 'sw_'
// sw_ and 32 bytes in base64url: anything else cannot be a key, and is refused without a lookup.
const SECRET_SHAPE = /^sw_[A-Za-z0-9_-]{43}$/
/** A key's name: printable ASCII, no leading or trailing space (the API's schema uses it too). */
export const API_KEY_NAME_PATTERN = `^[\\x21-\\x7e](?:[\\x20-\\x7e]{0,${API_KEY_NAME_MAX - 2}}[\\x21-\\x7e])?$`
const NAME_SHAPE = new RegExp(API_KEY_NAME_PATTERN)

/** A key's own rate (null: unlimited), or 'default': the configured API_KEY_RATE. */
export type KeyRate = Rate | 'default'

export interface ApiKey {
  id: string
  name: string
  role: ApiKeyRole
  rate: KeyRate
  createdAt: Date
  revokedAt: Date | null
}

const Q = {
  insert: 'INSERT INTO api_keys (key_hash, id, name, role, rate, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  insertId: 'INSERT INTO api_keys_by_id (id, key_hash) VALUES (?, ?)',
  byHash: 'SELECT id, name, role, rate, created_at, revoked_at FROM api_keys WHERE key_hash = ?',
  hashOf: 'SELECT key_hash FROM api_keys_by_id WHERE id = ?',
  // A whole-table read: there are tens or hundreds of keys, and only the CLI lists them.
  all: 'SELECT id, name, role, rate, created_at, revoked_at FROM api_keys',
  revoke: 'UPDATE api_keys SET revoked_at = ? WHERE key_hash = ?',
  setRate: 'UPDATE api_keys SET rate = ? WHERE key_hash = ?'
} as const

export function hashSecret (secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function canBeSecret (candidate: string): boolean {
  return SECRET_SHAPE.test(candidate)
}

export function isRole (value: string): value is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(value)
}

/** Printable ASCII, 1 to 64 characters, no leading or trailing space. */
export function isValidKeyName (name: string): boolean {
  return NAME_SHAPE.test(name)
}

/**
 * A rate as an operator writes it for a key of this role ("600/min", "default", "unlimited");
 * throws a RangeError saying what is expected. Only admin keys may be unlimited.
 */
export function keyRateFor (text: string, role: ApiKeyRole): KeyRate {
  if (text === 'default') return 'default'
  let rate
  try {
    rate = parseRate(text)
  } catch {
    throw new RangeError(`the rate must be ${RATE_EXAMPLE}, or default; not "${text}"`)
  }
  if (rate === null && role !== 'admin') throw new RangeError(`only admin keys may be ${UNLIMITED}; give this key a rate, e.g. 6000/min`)
  return rate
}

/** How a key's rate is shown (CLI and API alike): "600/min", "unlimited" or "default". */
export function keyRateText (rate: KeyRate): string {
  return rate === 'default' ? 'default' : formatRate(rate)
}

/** The stored spelling: null for the default rate. */
function storedRate (rate: KeyRate): string | null {
  return rate === 'default' ? null : formatRate(rate)
}

function readRate (stored: string | null): KeyRate {
  if (stored === null) return 'default'
  try {
    return parseRate(stored)
  } catch {
    // A rate this code cannot read (written by hand) grants no more than the default.
    return 'default'
  }
}

function toApiKey (row: cassandra.types.Row): ApiKey {
  const role = row['role'] as string
  return {
    id: row['id'] as string,
    name: row['name'] as string,
    // A role this code does not know grants nothing beyond a user's rights.
    role: isRole(role) ? role : 'user',
    rate: readRate((row['rate'] as string | null) ?? null),
    createdAt: row['created_at'] as Date,
    revokedAt: (row['revoked_at'] as Date | null) ?? null
  }
}

export function createApiKeyRepository (client: cassandra.Client) {
  async function findByHash (hash: string): Promise<ApiKey | null> {
    const row = (await client.execute(Q.byHash, [hash], IDEMPOTENT)).first()
    return row ? toApiKey(row) : null
  }

  async function byId (id: string): Promise<{ hash: string, key: ApiKey } | null> {
    const hash = (await client.execute(Q.hashOf, [id], IDEMPOTENT)).first()?.['key_hash'] as string | undefined
    const key = hash === undefined ? null : await findByHash(hash)
    return key === null ? null : { hash: hash!, key }
  }

  return {
    /** Stores a new key and returns it with its secret, which exists nowhere else from now on. */
    async create (name: string, role: ApiKeyRole, rate: KeyRate = 'default', now = new Date()): Promise<{ key: ApiKey, secret: string }> {
      if (!isValidKeyName(name)) throw new RangeError(`the name must be 1 to ${API_KEY_NAME_MAX} printable characters`)
      const secret = SECRET_PREFIX + randomBytes(32).toString('base64url')
      const hash = hashSecret(secret)
      const id = `ak_${randomBytes(8).toString('hex')}`
      // The id first: a key that exists can always be revoked.
      await client.execute(Q.insertId, [id, hash], IDEMPOTENT)
      await client.execute(Q.insert, [hash, id, name, role, storedRate(rate), now], IDEMPOTENT)
      return { key: { id, name, role, rate, createdAt: now, revokedAt: null }, secret }
    },

    findByHash,

    async findById (id: string): Promise<ApiKey | null> {
      return (await byId(id))?.key ?? null
    },

    /** Every key, oldest first. */
    async list (): Promise<ApiKey[]> {
      const keys: ApiKey[] = []
      const rows = await client.execute(Q.all, [], { ...IDEMPOTENT, fetchSize: 1000 })
      for await (const row of rows) keys.push(toApiKey(row))
      return keys.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
    },

    /** Revokes the key (keeping the first revocation time); null when there is no key with that id. */
    async revoke (id: string, now = new Date()): Promise<ApiKey | null> {
      const found = await byId(id)
      if (found === null) return null
      if (found.key.revokedAt !== null) return found.key
      await client.execute(Q.revoke, [now, found.hash], IDEMPOTENT)
      return { ...found.key, revokedAt: now }
    },

    /** Gives the key another rate; null when there is no key with that id. */
    async setRate (id: string, rate: KeyRate): Promise<ApiKey | null> {
      const found = await byId(id)
      if (found === null) return null
      await client.execute(Q.setRate, [storedRate(rate), found.hash], IDEMPOTENT)
      return { ...found.key, rate }
    }
  }
}
export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>
