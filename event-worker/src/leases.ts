import { QUEUE_SHARDS } from '@shortwave/common/webhook-outbox'
import type cassandra from 'cassandra-driver'

// Which shards of the queue this worker works. A shard is worked by one worker at a time: taken
// with a lightweight transaction (INSERT … IF NOT EXISTS) that expires with its TTL, kept by a
// conditional renewal (UPDATE … IF holder = me) every third of it. A worker that dies keeps its
// shards until the TTL runs out, then another takes them with every delivery still queued there.
// Each worker takes its share, ceil(shards / live workers), from heartbeats with the same TTL.
//
// A worker stops using a shard once its lease may have run out (heldUntil), even while Cassandra
// cannot be reached to say so; a delivery already in flight finishes (at least once).

const Q = {
  beat: 'INSERT INTO webhook_workers (scope, worker_id) VALUES (\'all\', ?) USING TTL ?',
  workers: 'SELECT worker_id FROM webhook_workers WHERE scope = \'all\'',
  leave: 'DELETE FROM webhook_workers WHERE scope = \'all\' AND worker_id = ?',
  claim: 'INSERT INTO webhook_shard_leases (shard, holder) VALUES (?, ?) IF NOT EXISTS USING TTL ?',
  renew: 'UPDATE webhook_shard_leases USING TTL ? SET holder = ? WHERE shard = ? IF holder = ?',
  release: 'DELETE FROM webhook_shard_leases WHERE shard = ? IF holder = ?'
}

export interface LeaseSettings {
  workerId: string
  leaseSeconds: number
  now?: () => number
  random?: () => number
}

export function createShardLeases (client: cassandra.Client, settings: LeaseSettings) {
  const { workerId, leaseSeconds } = settings
  const now = settings.now ?? Date.now
  const random = settings.random ?? Math.random
  /** Shard → until when it is ours for sure (the renewal's start plus the lease, less a margin). */
  const held = new Map<number, number>()
  const validFor = leaseSeconds * 1000 * 0.8

  async function conditional (query: string, params: unknown[]): Promise<boolean> {
    return (await client.execute(query, params, { prepare: true })).wasApplied()
  }

  return {
    /** The shards that are ours now. */
    shards (): number[] {
      const at = now()
      return [...held].filter(([, until]) => until > at).map(([shard]) => shard).sort((a, b) => a - b)
    },

    /** One round: heartbeat, renew ours, give up extras, take free ones up to our share. */
    async refresh (): Promise<void> {
      const started = now()
      await client.execute(Q.beat, [workerId, leaseSeconds], { prepare: true, isIdempotent: true })
      const live = (await client.execute(Q.workers, [], { prepare: true, isIdempotent: true })).rowLength
      const share = Math.ceil(QUEUE_SHARDS / Math.max(1, live))
      for (const shard of [...held.keys()]) {
        if (await conditional(Q.renew, [leaseSeconds, workerId, shard, workerId])) held.set(shard, started + validFor)
        else held.delete(shard)
      }
      for (const shard of [...held.keys()].slice(share)) {
        held.delete(shard)
        await conditional(Q.release, [shard, workerId])
      }
      // Free shards in a random order, so workers starting together do not all race for shard 0.
      const free = Array.from({ length: QUEUE_SHARDS }, (_, shard) => shard).filter((shard) => !held.has(shard))
        .map((shard) => ({ shard, order: random() })).sort((a, b) => a.order - b.order)
      for (const { shard } of free) {
        if (held.size >= share) break
        if (await conditional(Q.claim, [shard, workerId, leaseSeconds])) held.set(shard, started + validFor)
      }
    },

    /** On a clean stop: the shards go at once, not after the TTL. */
    async releaseAll (): Promise<void> {
      const shards = [...held.keys()]
      held.clear()
      await Promise.all(shards.map((shard) => conditional(Q.release, [shard, workerId])))
      await client.execute(Q.leave, [workerId], { prepare: true, isIdempotent: true })
    }
  }
}
export type ShardLeases = ReturnType<typeof createShardLeases>
