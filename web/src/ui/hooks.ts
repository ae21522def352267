import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../api.ts'

export interface Loaded<T> {
  data: T | undefined
  error: ApiError | undefined
  loading: boolean
  reload: () => void
}

/** Runs `load` when `deps` change (and on reload()); an older answer never overwrites a newer one. */
export function useLoad<T> (load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T, error?: ApiError, loading: boolean }>({ loading: true })
  const [round, setRound] = useState(0)
  const latest = useRef(0)
  useEffect(() => {
    const ticket = ++latest.current
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => { if (ticket === latest.current) setState({ data, loading: false }) },
      (error: unknown) => { if (ticket === latest.current) setState({ error: toApiError(error), loading: false }) }
    )
  }, [...deps, round])
  const reload = useCallback(() => setRound((r) => r + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

export interface Action {
  /** What the last action came to: `done`, or the API's refusal in words. */
  said: string
  run: (what: () => Promise<unknown>, done: string) => Promise<void>
  /** Says `done` of a change made elsewhere (a form that shows its own refusals), then `after`. */
  succeeded: (done: string) => void
}

/** Runs changes (revoke, remove, pause…) one at a time, saying how each went; `after` follows a success. */
export function useAction (after: () => void): Action {
  const [said, setSaid] = useState('')
  function succeeded (done: string): void {
    setSaid(done)
    after()
  }
  async function run (what: () => Promise<unknown>, done: string): Promise<void> {
    try {
      await what()
    } catch (e) {
      setSaid(toApiError(e).message)
      return
    }
    succeeded(done)
  }
  return { said, run, succeeded }
}

export function toApiError (error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, error instanceof Error ? error.message : String(error))
}

/** Moves focus to the view's heading when the view changes, so a keyboard or screen reader user starts there. */
export function useFocusOnMount<T extends HTMLElement> (key: unknown): { current: T | null } {
  const ref = useRef<T>(null)
  useEffect(() => { ref.current?.focus() }, [key])
  return ref
}
