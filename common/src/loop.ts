import type { FastifyBaseLogger } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import { inOwnTrace } from './tracing.ts'

export interface LoopOptions {
  intervalMs: number
  signal: AbortSignal
  log: FastifyBaseLogger
  onError?: (error: unknown) => void
}

/**
 * Runs `pass` every intervalMs until the signal aborts; the pass in progress always finishes.
 * A failed pass is retried on the next tick, so Redis or Cassandra being down never stops the
 * worker. Failures are logged on the first and every 100th in a row, not four times a second.
 */
export async function runLoop (
  name: string, pass: (signal: AbortSignal) => Promise<unknown>, opts: LoopOptions
): Promise<void> {
  const { intervalMs, signal, log } = opts
  let failures = 0
  while (!signal.aborted) {
    try {
      // Each pass a trace of its own: its Redis and Cassandra calls below it.
      await inOwnTrace(`loop ${name}`, {}, () => pass(signal))
      if (failures > 0) log.info({ loop: name, failures }, `${name} recovered`)
      failures = 0
    } catch (err) {
      failures++
      opts.onError?.(err)
      if (failures % 100 === 1) log.error({ err, loop: name, failures }, `${name} failed; retrying every ${intervalMs} ms`)
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => {})
  }
}
