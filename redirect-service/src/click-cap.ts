import type { Redis } from 'ioredis'

// maxClicks is a promise about a counter every redirect replica shares, so the GETs of a capped
// link are counted in Redis as they are answered (INCR is atomic across replicas), not in the
// buffered click path, which is up to a flush interval behind. Links without a cap never come here.
//
// Redis may lose the counter (a flush, a failover to a lagging replica, eviction). It is then
// seeded again from the clicks Cassandra holds, which lag the real count by the clicks not yet
// folded (a flush interval plus a fold interval of the link's traffic): that lag is how far past
// its cap a link can go, once per loss of the counter. With the counter kept, the cap is exact.

// KEYS[1]: the counter. ARGV[1]: the seed, or '' when the caller has none yet. ARGV[2]: the cap, or
// '' for none. Returns the click's number, or -1 when the counter is missing and no seed was given.
// A counter at the cap stays there (the click's number is cap + 1): GETs refused for it are not
// counted, so a cap raised later lets exactly the difference through.
const NEXT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[1] == '' then return -1 end
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if ARGV[2] ~= '' then
  local cap = tonumber(ARGV[2])
  if tonumber(redis.call('GET', KEYS[1])) >= cap then return cap + 1 end
end
return redis.call('INCR', KEYS[1])`

export interface ClickCapOptions {
  redis: Redis
  counterKey: (key: string) => string
  /** The link's clicks as Cassandra holds them: the seed of a missing counter. */
  storedClicks: (key: string) => Promise<number>
}

export function createClickCap (opts: ClickCapOptions) {
  const { redis, counterKey, storedClicks } = opts

  async function run (key: string, seed: string, cap: string): Promise<number> {
    return Number(await redis.eval(NEXT, 1, counterKey(key), seed, cap))
  }

  return {
    /**
     * Counts one GET and returns its number among the link's counted GETs (1 for the first). With
     * `cap`, a GET past it is not counted and gets cap + 1.
     */
    async next (key: string, cap?: number): Promise<number> {
      const limit = cap === undefined ? '' : String(cap)
      const n = await run(key, '', limit)
      return n !== -1 ? n : run(key, String(await storedClicks(key)), limit)
    },

    /** The number the next GET would get, counting nothing (HEAD). */
    async peek (key: string): Promise<number> {
      const raw = await redis.get(counterKey(key))
      return (raw === null ? await storedClicks(key) : Number(raw)) + 1
    },

    /** Forgets the counter (the link was deleted, or its cap removed). */
    async forget (key: string): Promise<void> {
      await redis.del(counterKey(key))
    }
  }
}
export type ClickCap = ReturnType<typeof createClickCap>
