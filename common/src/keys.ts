import { customRandom, random as secureRandom } from 'nanoid'

// One module owns the shape of a key, so the generator, the alias check and the redirect
// service's "can this even be a key?" test never disagree.

/** Generated keys avoid look-alikes (0/O, 1/l/I) so they can be read aloud and typed. */
export const KEY_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export const DEFAULT_KEY_LENGTH = 7

export const ALIAS_MIN = 3
export const ALIAS_MAX = 64
export const ALIAS_PATTERN = `^[A-Za-z0-9_-]{${ALIAS_MIN},${ALIAS_MAX}}$`
const aliasShape = new RegExp(ALIAS_PATTERN)

/**
 * Rows of the links table are partitioned by the first characters of the key. The key-worker
 * claims a whole batch of keys sharing a prefix in one Paxos round, and partitions stay small
 * (57^3 buckets) even with billions of links.
 */
export const BUCKET_LENGTH = 3

export function bucketOf (key: string): string {
  return key.slice(0, BUCKET_LENGTH)
}

/** Paths and words that must never become keys: routes of our own, and names people expect. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'api', 'app', 'admin', 'assets', 'auth', 'docs', 'favicon', 'healthz', 'help', 'index', 'login',
  'logout', 'metrics', 'null', 'readyz', 'robots', 'signin', 'signup', 'static', 'status', 'undefined',
  'www', 'shortwave', 'about', 'settings', 'dashboard', 'public', 'qr', 'new',
  // Path segments of the links API: /api/v1/links/batch would read as the link "batch".
  'batch', 'stats', 'export', 'import'
])

/** True when the path segment could be a generated key or an alias; decided without any I/O. */
export function canBeKey (candidate: string): boolean {
  return aliasShape.test(candidate)
}

export function isReserved (alias: string): boolean {
  return RESERVED_WORDS.has(alias.toLowerCase())
}

/**
 * Generates keys in batches that share one bucket prefix (see BUCKET_LENGTH). A long key can
 * spell a reserved word; such a key would be claimed but could never be served, so none is made.
 */
export function createKeyGenerator (length = DEFAULT_KEY_LENGTH, random: (bytes: number) => Uint8Array = secureRandom) {
  if (length <= BUCKET_LENGTH) throw new RangeError(`key length must exceed ${BUCKET_LENGTH}`)
  const prefix = customRandom(KEY_ALPHABET, BUCKET_LENGTH, random)
  const suffix = customRandom(KEY_ALPHABET, length - BUCKET_LENGTH, random)
  const usable = (bucket: string): string => {
    let key: string
    do key = bucket + suffix()
    while (isReserved(key))
    return key
  }
  return {
    batch (count: number): string[] {
      const bucket = prefix()
      const keys = new Set<string>()
      while (keys.size < count) keys.add(usable(bucket))
      return [...keys]
    },
    one (): string {
      return usable(prefix())
    }
  }
}
export type KeyGenerator = ReturnType<typeof createKeyGenerator>
