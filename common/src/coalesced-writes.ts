import type cassandra from 'cassandra-driver'
import { IDEMPOTENT } from './link-repository.ts'

// Writes that many requests make at once into the same few partitions (the list index: every
// create of an owner writes the owner's by-creation and by-clicks partitions, and links share
// words), sent together. The writes asked for in one turn of the event loop are grouped by
// partition: the rows of one partition go in one unlogged batch, which Cassandra applies as one
// mutation of that partition, and rows alone in their partition go PARTITIONS_MAX partitions to a
// batch. Each caller's promise settles when the batches holding its rows did; a failed batch fails
// every caller with a row in it (each caller's writes are idempotent, so a retry writes them again).
// A single create in a quiet moment waits one setImmediate for company: nothing measurable.

/** One row to write: its statement and parameters, and an id of the partition it goes to. */
export interface PartitionWrite {
  partition: string
  query: string
  params: unknown[]
}

/**
 * Partitions in one batch at most: Cassandra warns of an unlogged batch over more than 10
 * (unlogged_batch_across_partitions_warn_threshold).
 */
export const PARTITIONS_MAX = 10
/** Rows of one partition in one batch at most: index rows are under 100 bytes, so under 5 KiB. */
export const PARTITION_ROWS_MAX = 50

interface Pending extends PartitionWrite {
  resolve: () => void
  reject: (error: unknown) => void
}

/** How many rows a batch takes: of one partition, and of as many partitions, one row each. */
export interface BatchLimits {
  partitionRows: number
  partitions: number
}

/**
 * The batches a set of writes goes out in, in the order asked for within each: the rows of a
 * partition together, and rows alone in their partition several partitions to a batch (also the
 * backfill's, migrate-backfill.ts, with limits of its own).
 */
export function batchesOf<T extends { partition: string }> (
  writes: T[], limits: BatchLimits = { partitionRows: PARTITION_ROWS_MAX, partitions: PARTITIONS_MAX }
): T[][] {
  const byPartition = new Map<string, T[]>()
  for (const write of writes) {
    const rows = byPartition.get(write.partition)
    if (rows === undefined) byPartition.set(write.partition, [write])
    else rows.push(write)
  }
  const batches: T[][] = []
  let singles: T[] = []
  for (const rows of byPartition.values()) {
    if (rows.length > 1) {
      for (let i = 0; i < rows.length; i += limits.partitionRows) batches.push(rows.slice(i, i + limits.partitionRows))
      continue
    }
    singles.push(rows[0]!)
    if (singles.length === limits.partitions) {
      batches.push(singles)
      singles = []
    }
  }
  if (singles.length > 0) batches.push(singles)
  return batches
}

export function createCoalescedWrites (client: cassandra.Client) {
  let pending: Pending[] = []
  let scheduled = false

  function send (batch: Pending[]): Promise<unknown> {
    if (batch.length === 1) return client.execute(batch[0]!.query, batch[0]!.params, IDEMPOTENT)
    const queries = batch.map(({ query, params }) => ({ query, params }))
    return client.batch(queries, { ...IDEMPOTENT, logged: false })
  }

  function flush (): void {
    const taken = pending
    pending = []
    scheduled = false
    for (const batch of batchesOf(taken)) {
      send(batch).then(
        () => { for (const row of batch) row.resolve() },
        (error: unknown) => { for (const row of batch) row.reject(error) }
      )
    }
  }

  return {
    /** Writes the rows, with whatever else is asked for in this turn; resolves once all are written. */
    async write (writes: PartitionWrite[]): Promise<void> {
      if (writes.length === 0) return
      await Promise.all(writes.map((write) => new Promise<void>((resolve, reject) => {
        pending.push({ ...write, resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      })))
    }
  }
}
export type CoalescedWrites = ReturnType<typeof createCoalescedWrites>
