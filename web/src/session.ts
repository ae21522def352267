// The signed-in API key lives in sessionStorage only: gone when the tab closes, never in a URL,
// a cookie or localStorage, and sent only as a Bearer header (api.ts).
const STORE = 'shortwave.apiKey'

export interface Me { id: string, name: string, role: 'user' | 'admin' }

export function apiKey (): string | null {
  try {
    return sessionStorage.getItem(STORE)
  } catch {
    return null // storage disabled: nobody is signed in
  }
}

export function keepKey (secret: string): void {
  sessionStorage.setItem(STORE, secret)
}

export function forgetKey (): void {
  sessionStorage.removeItem(STORE)
}
