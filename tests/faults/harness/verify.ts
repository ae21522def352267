// The end of every fault run: each link acknowledged with a 201 must be in Cassandra with its
// URL and must redirect to it through the edge; no key may have been handed out twice.
import { createLinkRepository } from '@shortwave/common/link-repository'
import type cassandra from 'cassandra-driver'
import { inParallel } from '../../helpers/stack.ts'
import type { BurstFigures, FailoverFigures } from './reliability-doc.ts'
import type { Ack, Burst } from './traffic.ts'

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

/** null when the link redirects through the edge to exactly its URL; otherwise what it did. */
async function redirectProblem (edgeUrl: string, ack: { key: string, url: string }): Promise<string | null> {
  try {
    const response = await fetch(`${edgeUrl}/${ack.key}`, { redirect: 'manual', signal: AbortSignal.timeout(15_000) })
    await response.arrayBuffer()
    const location = response.headers.get('location')
    return response.status === 302 && location === ack.url ? null : `redirect: ${response.status} ${location ?? ''}`
  } catch (error) {
    return `redirect: ${(error as Error).message}`
  }
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
    const problem = await redirectProblem(opts.edgeUrl, ack)
    if (problem === null) redirected++
    else failures.push({ key: ack.key, url: ack.url, problem })
  })
  return { acknowledged: acks.length, duplicateKeys, stored, redirected, failures }
}

export interface HttpVerification {
  acknowledged: number
  /** Keys answered 201 more than once (must be none). */
  duplicateKeys: string[]
  /** Answered 302 with exactly the acknowledged URL. */
  redirected: number
  /** GET /api/v1/links/{key} answered 200 with exactly the acknowledged URL. */
  readBack: number
  failures: Array<{ key: string, url: string, problem: string }>
}

/**
 * The same promise checked through the public API only (no store read): each acknowledged link
 * redirects to its URL and reads back with it, and no key was acknowledged twice. Drop the caches
 * first (Redis link entries, then the replicas' in-process TTL) to see what Cassandra holds.
 */
export async function verifyOverHttp (acks: Array<{ key: string, url: string }>, opts: { edgeUrl: string, concurrency?: number }): Promise<HttpVerification> {
  const count = new Map<string, number>()
  for (const ack of acks) count.set(ack.key, (count.get(ack.key) ?? 0) + 1)
  const duplicateKeys = [...count].filter(([, n]) => n > 1).map(([key]) => key)
  const failures: HttpVerification['failures'] = []
  let redirected = 0
  let readBack = 0
  await inParallel(acks, opts.concurrency ?? 16, async (ack) => {
    const problem = await redirectProblem(opts.edgeUrl, ack)
    if (problem === null) redirected++
    else failures.push({ key: ack.key, url: ack.url, problem })
    try {
      const response = await fetch(`${opts.edgeUrl}/api/v1/links/${ack.key}`, { signal: AbortSignal.timeout(15_000) })
      const body = await response.json().catch(() => null) as { url?: unknown } | null
      if (response.status === 200 && body?.url === ack.url) readBack++
      else failures.push({ key: ack.key, url: ack.url, problem: `read: ${response.status} ${String(body?.url ?? '')}` })
    } catch (error) {
      failures.push({ key: ack.key, url: ack.url, problem: `read: ${(error as Error).message}` })
    }
  })
  return { acknowledged: acks.length, duplicateKeys, redirected, readBack, failures }
}

/** The links created around a Redis fault: two bursts and the steady traffic's, and when the fault hit. */
export interface AroundFault {
  before: Burst
  after: Burst
  steady: Ack[]
  faultAt: number
}

export type AroundFaultFigures = Pick<FailoverFigures, 'before' | 'after' | 'steadyAcknowledged' | 'earlier' | 'check'>

/**
 * verifyOverHttp on every link created around a Redis fault (drop the caches first), with the
 * figures the report keeps: the bursts' answers, and how many links acknowledged before the fault
 * still point where they did.
 */
export async function verifyAroundFault (links: AroundFault, edgeUrl: string): Promise<{ verification: HttpVerification, figures: AroundFaultFigures }> {
  const steady = links.steady.map(({ key, url, at }) => ({ key, url, at }))
  const verification = await verifyOverHttp([...links.before.acks, ...links.after.acks, ...steady], { edgeUrl })
  const broken = new Set(verification.failures.map((f) => `${f.key} ${f.url}`))
  const earlier = [...links.before.acks, ...steady.filter((a) => a.at < links.faultAt)]
  const burst = (b: Burst): BurstFigures => ({ byStatus: b.byStatus, acknowledged: b.acks.length, ms: b.ms })
  return {
    verification,
    figures: {
      before: burst(links.before),
      after: burst(links.after),
      steadyAcknowledged: steady.length,
      earlier: { links: earlier.length, intact: earlier.filter((a) => !broken.has(`${a.key} ${a.url}`)).length },
      check: {
        ...verification,
        duplicateKeys: verification.duplicateKeys.length,
        duplicateExamples: verification.duplicateKeys.slice(0, 5),
        failures: verification.failures.slice(0, 20)
      }
    }
  }
}
