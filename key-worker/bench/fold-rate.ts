// How many clicks-per-key-and-day groups one key-worker folds into Cassandra counters per second.
// Groups go to Cassandra in unlogged counter batches, a few batches in flight (see click-folder.ts).
//   node key-worker/bench/fold-rate.ts            (BENCH_GROUPS=5000 by default)
import { createLinkRepository } from '@shortwave/common/link-repository'
import { clickField, redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra } from '@shortwave/testing/infra'
import { createClickFolder } from '../src/click-folder.ts'

const groups = Number(process.env['BENCH_GROUPS'] ?? 5000)
const infra = await createTestInfra('kw_foldbench')
const keys = redisKeys(infra.prefix)
const folder = createClickFolder({ redis: infra.redis, keys, repo: createLinkRepository(infra.cassandra), workerId: 'bench', heartbeatTtlMs: 60_000 })

async function run (count: number): Promise<number> {
  const fields: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    fields[clickField('2025-01-01', `fold${i}`, false)] = '3'
    fields[clickField('2025-01-01', `fold${i}`, true)] = '1'
  }
  await infra.redis.hset(keys.clicksPending, fields)
  const started = performance.now()
  await folder.foldPending()
  return count / ((performance.now() - started) / 1000)
}

try {
  await run(500) // warm-up
  const rate = await run(groups)
  console.log(`folded ${groups} key-day groups (${groups * 2} hash fields): ${rate.toFixed(0)} groups/s`)
} finally {
  await infra.cassandra.execute(`DROP KEYSPACE IF EXISTS ${infra.keyspace}`)
  await infra.close()
}
