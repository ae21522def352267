import type { KeyPool } from '@shortwave/common/key-pool'
import type { KeyGenerator } from '@shortwave/common/keys'
import type { ClaimResult, LinkRepository } from '@shortwave/common/link-repository'
import { performance } from 'node:perf_hooks'

// The pool only ever holds keys Cassandra confirmed as claimed by this worker (a conditional
// insert that applied), so neither a second worker, a restart nor an alias can see one twice.
// Each claim batch enters the pool as one chunk, which create-service leases whole.

export interface RefillDeps {
  pool: Pick<KeyPool, 'offer' | 'depth'>
  repo: Pick<LinkRepository, 'claimBatch'>
  /** One bucket per batch (see createKeyGenerator): one Paxos round claims the whole batch. */
  generator: Pick<KeyGenerator, 'batch'>
  /** Told about every claim batch Cassandra answered, and how long it took. */
  onBatch?: (result: ClaimResult, seconds: number) => void
}

export interface RefillSettings {
  workerId: string
  highWater: number
  batchSize: number
  /** Claim batches in flight at once. */
  concurrency: number
}

export interface RefillOutcome {
  /** Pool depth when the pass ended. */
  depth: number
  /** Keys claimed and added to the pool by this pass. */
  pooled: number
  conflicts: number
  batches: number
}

/**
 * One refill pass: claims batches until the pool reaches the high-water mark. Depth is re-read
 * before every batch, so workers refilling side by side overshoot by at most their batches in
 * flight. With an aborted signal no new batch starts; batches already sent are still pooled.
 */
export async function refillPool (
  deps: RefillDeps, settings: RefillSettings, signal?: AbortSignal
): Promise<RefillOutcome> {
  const outcome: RefillOutcome = { depth: 0, pooled: 0, conflicts: 0, batches: 0 }
  // Shared by the lanes: keys requested but not yet pooled, and whether one lane failed.
  const lanesState = { inFlight: 0, failed: false }

  async function lane (): Promise<void> {
    while (!lanesState.failed && !signal?.aborted) {
      const depth = await deps.pool.depth(settings.batchSize)
      const count = Math.min(settings.batchSize, settings.highWater - depth - lanesState.inFlight)
      if (count <= 0) return
      lanesState.inFlight += count
      try {
        // Nothing claimed means every key was taken or Cassandra refused the batch: leave it to the next tick.
        if (await claimBatch(deps, settings.workerId, count, outcome) === 0) return
      } finally {
        lanesState.inFlight -= count
      }
    }
  }

  const lanes = Array.from({ length: settings.concurrency }, () => lane().catch((error: unknown) => {
    lanesState.failed = true
    throw error
  }))
  const failure = (await Promise.allSettled(lanes)).find((r) => r.status === 'rejected')
  if (failure) throw failure.reason
  outcome.depth = await deps.pool.depth(settings.batchSize)
  return outcome
}

async function claimBatch (deps: RefillDeps, workerId: string, count: number, outcome: RefillOutcome): Promise<number> {
  const keys = deps.generator.batch(count)
  const started = performance.now()
  const result = await deps.repo.claimBatch(keys, workerId)
  outcome.batches++
  outcome.conflicts += result.conflicts.length
  deps.onBatch?.(result, (performance.now() - started) / 1000)
  if (result.claimed.length === 0) return 0
  // Should this fail, the keys stay claimed in Cassandra and are never handed out: wasted, never duplicated.
  await deps.pool.offer(result.claimed)
  outcome.pooled += result.claimed.length
  return result.claimed.length
}
