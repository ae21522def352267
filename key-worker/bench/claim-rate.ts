// How many keys per second one key-worker claims, for a few batch sizes and concurrencies.
// Runs refill passes against a throwaway keyspace (t_kw_bench) on the local Cassandra and Redis:
//   node key-worker/bench/claim-rate.ts            (BENCH_SECONDS=10 per setting by default)
import { createKeyPool } from '@shortwave/common/key-pool'
import { createKeyGenerator } from '@shortwave/common/keys'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra } from '@shortwave/testing/infra'
import { refillPool, type RefillDeps } from '../src/pool-refiller.ts'

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10)
const settings: Array<[batchSize: number, concurrency: number]> = [
  [100, 1], [100, 4], [50, 4], [200, 4], [500, 4], [100, 8], [100, 16], [200, 16]
]

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

const infra = await createTestInfra('kw_bench')
const keys = redisKeys(infra.prefix)
const repo = createLinkRepository(infra.cassandra)

async function run (batchSize: number, concurrency: number, ms: number) {
  await infra.redis.del(keys.pool)
  const latencies: number[] = []
  let conflicts = 0
  const deps: RefillDeps = {
    pool: createKeyPool(infra.redis, keys),
    repo,
    generator: createKeyGenerator(7),
    onBatch: (result, s) => { latencies.push(s * 1000); conflicts += result.conflicts.length }
  }
  const signal = AbortSignal.timeout(ms)
  const started = performance.now()
  // The high-water mark is out of reach: the pass claims until the signal stops it.
  const outcome = await refillPool(deps, { workerId: 'bench', highWater: 100_000_000, batchSize, concurrency }, signal)
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    pooled: outcome.pooled,
    rate: outcome.pooled / elapsed,
    batches: outcome.batches,
    conflicts,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99)
  }
}

try {
  await run(100, 4, 2000) // warm-up: connections, prepared statements, JIT
  console.log(`claim rate, ${seconds} s per setting, key length 7, one worker, local single-node Cassandra\n`)
  console.log('batch  conc    keys/s    keys  batches  conflicts  batch p50 ms  batch p99 ms')
  for (const [batchSize, concurrency] of settings) {
    const r = await run(batchSize, concurrency, seconds * 1000)
    console.log([
      String(batchSize).padStart(5), String(concurrency).padStart(5),
      r.rate.toFixed(0).padStart(9), String(r.pooled).padStart(7),
      String(r.batches).padStart(8), String(r.conflicts).padStart(10),
      r.p50.toFixed(1).padStart(13), r.p99.toFixed(1).padStart(13)
    ].join(' '))
  }
} finally {
  await infra.cassandra.execute(`DROP KEYSPACE IF EXISTS ${infra.keyspace}`)
  await infra.close()
}
