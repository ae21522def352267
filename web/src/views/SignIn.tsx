// Signing in is checking an API key (GET /api/v1/me) and keeping it for this tab (session.ts).
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ApiError, call } from '../api.ts'
import { forgetKey, keepKey, type Me } from '../session.ts'

export function SignIn ({ onSignedIn }: { onSignedIn: (me: Me) => void }): JSX.Element {
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  async function submit (event: Event): Promise<void> {
    event.preventDefault()
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('api-key') as HTMLInputElement
    const secret = input.value.trim()
    if (secret === '') {
      setError('Paste your API key (npm run apikey -- create prints one).')
      input.focus()
      return
    }
    setBusy(true)
    setError('')
    keepKey(secret)
    try {
      const { data } = await call<Me>('/api/v1/me')
      input.value = ''
      onSignedIn(data)
    } catch (e) {
      forgetKey()
      const status = (e as ApiError).status
      setError(status === 401 ? 'That API key is not valid (mistyped, or revoked).' : (e as ApiError).message)
      input.focus()
    } finally {
      setBusy(false)
    }
  }

  return (
    <section id='sign-in' aria-labelledby='sign-in-title'>
      <h2 id='sign-in-title'>Manage your links</h2>
      <p class='hint'>Sign in with an API key to list, edit and follow your links. It stays in this tab only.</p>
      <form noValidate onSubmit={(e) => { submit(e).catch(() => {}) }}>
        <div>
          <label for='api-key'>API key</label>
          <input id='api-key' name='api-key' type='password' autocomplete='off' spellcheck={false} placeholder='sw_…' aria-describedby='api-key-error' aria-invalid={error !== '' ? 'true' : undefined} />
          <p id='api-key-error' class='error' aria-live='polite'>{error}</p>
        </div>
        <button type='submit' disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </section>
  )
}
