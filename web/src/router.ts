// Views are addressed by the URL's fragment (#/links, #/link/abc?domain=…): every other path of
// this host is a short link, served by redirect-service, so the page cannot own any path but "/".
import { useEffect, useState } from 'preact/hooks'

export interface Route {
  /** The path's segments, decoded: "#/link/abc/stats" → ["link", "abc", "stats"]. */
  parts: string[]
  params: URLSearchParams
}

export function parseHash (hash: string): Route {
  const text = hash.replace(/^#\/?/, '')
  const at = text.indexOf('?')
  const path = at === -1 ? text : text.slice(0, at)
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try { return decodeURIComponent(p) } catch { return p }
  })
  return { parts, params: new URLSearchParams(at === -1 ? '' : text.slice(at + 1)) }
}

/** A fragment for the page's links: each segment encoded, the query from the defined values. */
export function href (parts: string[], params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, value)
  const q = search.toString()
  return `#/${parts.map(encodeURIComponent).join('/')}${q === '' ? '' : `?${q}`}`
}

export function go (to: string): void {
  location.hash = to
}

export function useRoute (): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash))
  useEffect(() => {
    const changed = (): void => setRoute(parseHash(location.hash))
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return route
}
