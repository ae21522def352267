// Redis "rolled back" as a failover to a lagging replica or a restore from an old backup would
// leave it: every key of the stack except the link cache, dumped at one moment and put back later.
// Black-box on purpose: it knows the stack's key prefix and that `<prefix>link:*` is the cache,
// nothing about how the key pool or anything else is represented.
import type { Redis } from 'ioredis'

export interface RedisSnapshot {
  /** When the snapshot was taken (epoch ms). */
  at: number
  entries: Array<{ key: string, dump: Buffer, pttl: number }>
}

/** Every key under `prefix` but the link cache entries, as SCAN finds them. */
async function stateKeys (redis: Redis, prefix: string): Promise<string[]> {
  const cache = `${prefix}link:`
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch.filter((key) => !key.startsWith(cache)))
  } while (cursor !== '0')
  return [...new Set(keys)]
}

/**
 * DUMP and PTTL of every state key, read in one MULTI so they all come from the same moment.
 * `redis` must have no key prefix of its own.
 */
export async function snapshotState (redis: Redis, prefix: string): Promise<RedisSnapshot> {
  const keys = await stateKeys(redis, prefix)
  const multi = redis.multi()
  for (const key of keys) multi.dumpBuffer(key).pttl(key)
  const replies = await multi.exec() ?? []
  const entries: RedisSnapshot['entries'] = []
  for (const [i, key] of keys.entries()) {
    const dump = replies[2 * i]?.[1] as Buffer | null
    const pttl = replies[2 * i + 1]?.[1] as number
    // Gone between the SCAN and the MULTI: not part of the state at that moment.
    if (dump !== null) entries.push({ key, dump, pttl })
  }
  return { at: Date.now(), entries }
}

/**
 * Puts the state back as it was at the snapshot, in one MULTI: state keys written since are
 * deleted, the snapshot's keys restored with the TTL they had left then. The link cache is left alone.
 */
export async function restoreState (redis: Redis, prefix: string, snapshot: RedisSnapshot): Promise<{ deleted: number, restored: number }> {
  const current = await stateKeys(redis, prefix)
  const multi = redis.multi()
  if (current.length > 0) multi.del(...current)
  for (const { key, dump, pttl } of snapshot.entries) {
    multi.restore(key, pttl > 0 ? pttl : 0, dump, 'REPLACE')
  }
  const replies = await multi.exec() ?? []
  const failed = replies.find(([error]) => error !== null)
  if (failed) throw new Error(`restoring the Redis snapshot failed: ${String(failed[0])}`)
  return { deleted: current.length, restored: snapshot.entries.length }
}

/** Deletes every link cache entry, so the next reads come from Cassandra (after the replicas' own TTL). */
export async function dropLinkCache (redis: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let dropped = 0
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}link:*`, 'COUNT', 1000)
    cursor = next
    if (batch.length > 0) dropped += await redis.del(...batch)
  } while (cursor !== '0')
  return dropped
}
