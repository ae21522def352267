// When a failed delivery is tried again: exponential from the base (base, 2×base, 4×base, …),
// capped, each delay drawn between half and all of it ("equal jitter"), so endpoints that failed
// together are not all retried in the same instant.

export interface BackoffSettings {
  baseMs: number
  maxMs: number
}

/** The wait after failed attempt number `attempt` (1 for the first); `random` in [0, 1). */
export function retryDelayMs (attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponential = settings.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40)
  const capped = Math.min(exponential, settings.maxMs)
  return Math.round(capped / 2 + random() * capped / 2)
}
