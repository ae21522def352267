// Something held in memory and read again from storage: at start-up, whenever a change is
// announced (pub/sub, plugins/domain-changes.ts) and every `reloadMs` in case that message was
// missed. Loads never overlap, and a change announced during one starts one more, so the last
// change is never missed.

export interface ReloaderOptions {
  /** Reads and installs the current state. */
  loadOnce: () => Promise<void>
  reloadMs: number
  /** Told when a reload fails (Cassandra down): the last state known stays in use. */
  onError: (err: Error) => void
}

export function createReloader (opts: ReloaderOptions) {
  let timer: NodeJS.Timeout | undefined
  let loading: Promise<void> | null = null
  let again = false
  let closed = false

  function load (): Promise<void> {
    if (loading !== null) {
      again = true
      return loading
    }
    loading = (async () => {
      try {
        do {
          again = false
          await opts.loadOnce()
        } while (again)
      } finally {
        loading = null
      }
    })()
    return loading
  }

  function reloadLater (): void {
    if (closed) return
    timer = setTimeout(() => {
      load().catch(opts.onError).finally(reloadLater)
    }, opts.reloadMs).unref()
  }

  return {
    load,
    /** Reloads now, in the background (a change was announced). */
    changed (): void {
      load().catch(opts.onError)
    },
    /** Starts the periodic reload. */
    start (): void {
      if (timer === undefined) reloadLater()
    },
    close (): void {
      closed = true
      clearTimeout(timer)
      timer = undefined
    }
  }
}
export type Reloader = ReturnType<typeof createReloader>
