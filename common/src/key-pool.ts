import type { Redis } from 'ioredis'
import type { RedisKeys } from './redis-keys.ts'

// The Redis side of the key pool: a SET of chunks, each the keys of one claim batch (one bucket,
// so one Cassandra partition) joined by spaces. A create-service replica takes a whole chunk and
// leases it with one conditional batch (LinkRepository.leaseChunk), so what Redis hands out is
// only ever a suggestion: a chunk Redis forgets is lost keys, and a chunk it replays (a failover
// to a lagging replica, a restored snapshot, a hand-made SADD) fails its lease and is skipped.

const SEPARATOR = ' '

export function createKeyPool (redis: Redis, keys: Pick<RedisKeys, 'pool'>) {
  return {
    /** False while the Redis client is not connected: callers skip the pool rather than wait. */
    available (): boolean {
      return redis.status === 'ready'
    },

    /** Offers one claimed batch. */
    async offer (chunk: readonly string[]): Promise<void> {
      if (chunk.length > 0) await redis.sadd(keys.pool, chunk.join(SEPARATOR))
    },

    /** One chunk, removed from the pool; null when the pool is empty. */
    async take (): Promise<string[] | null> {
      const chunk = await redis.spop(keys.pool)
      return chunk === null ? null : chunk.split(SEPARATOR).filter(Boolean)
    },

    /**
     * Unused keys in the pool, counting `chunkSize` keys a chunk (a claim batch loses a key to a
     * conflict about once in millions, so the count is exact in practice and never short).
     */
    async depth (chunkSize: number): Promise<number> {
      return chunkSize * await redis.scard(keys.pool)
    }
  }
}
export type KeyPool = ReturnType<typeof createKeyPool>
