/**
 * Runs `task` over the items, at most `limit` at a time. The first failure stops new tasks from
 * starting and is thrown once the ones in flight have settled, so a caller's next pass finds
 * every item either done or untouched.
 */
export async function eachLimited<T> (items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  async function lane (): Promise<void> {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!
      try {
        await task(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  if (failure !== undefined) throw failure.error
}
