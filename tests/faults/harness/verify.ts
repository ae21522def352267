// The end of every fault run: each link acknowledged with a 201 must be in Cassandra with its
// URL and must redirect to it through the edge; no key may have been handed out twice.
import { createLinkRepository } from '@shortwave/common/link-repository'
import type cassandra from 'cassandra-driver'
import { inParallel } from '../../helpers/stack.ts'
import type { Ack } from './traffic.ts'

export interface Verification {
  acknowledged: number
  /** Keys acknowledged more than once (must be none). */
  duplicateKeys: string[]
  /** Stored, active, with exactly the acknowledged URL. */
  stored: number
  /** Answered 302 with exactly the acknowledged URL. */
  redirected: number
  /** Acknowledged links that failed a check, with what was found. */
  failures: Array<{ key: string, url: string, problem: string }>
}

export async function verifyAcknowledged (acks: Ack[], opts: { edgeUrl: string, cassandra: cassandra.Client, concurrency?: number }): Promise<Verification> {
  const repo = createLinkRepository(opts.cassandra)
  const seen = new Set<string>()
  const duplicateKeys: string[] = []
  for (const ack of acks) {
    if (seen.has(ack.key)) duplicateKeys.push(ack.key)
    seen.add(ack.key)
  }
  const failures: Verification['failures'] = []
  let stored = 0
  let redirected = 0
  await inParallel(acks, opts.concurrency ?? 16, async (ack) => {
    try {
      const link = await repo.find(ack.key)
      if (link?.url === ack.url) stored++
      else failures.push({ key: ack.key, url: ack.url, problem: `in Cassandra: ${link === null ? 'no active link' : link.url}` })
    } catch (error) {
      failures.push({ key: ack.key, url: ack.url, problem: `in Cassandra: ${(error as Error).message}` })
    }
    try {
      const response = await fetch(`${opts.edgeUrl}/${ack.key}`, { redirect: 'manual', signal: AbortSignal.timeout(15_000) })
      await response.arrayBuffer()
      const location = response.headers.get('location')
      if (response.status === 302 && location === ack.url) redirected++
      else failures.push({ key: ack.key, url: ack.url, problem: `redirect: ${response.status} ${location ?? ''}` })
    } catch (error) {
      failures.push({ key: ack.key, url: ack.url, problem: `redirect: ${(error as Error).message}` })
    }
  })
  return { acknowledged: acks.length, duplicateKeys, stored, redirected, failures }
}
