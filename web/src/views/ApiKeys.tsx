// Admins' view of the API keys: create one (its secret is shown once), and revoke one.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { call, get } from '../api.ts'
import { Confirm, CopyButton, Field, Notice, when } from '../ui/controls.tsx'
import { toApiError, useAction, useFocusOnMount, useLoad } from '../ui/hooks.ts'
import type { Me } from '../session.ts'
import type { ApiKeyInfo } from '../types.ts'

export function ApiKeys ({ me }: { me: Me }): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>('keys')
  const list = useLoad(() => get<{ keys: ApiKeyInfo[] }>('/api/v1/keys'), [])
  const [created, setCreated] = useState<ApiKeyInfo | null>(null)
  const [error, setError] = useState<{ field: 'name' | 'rate' | 'form', text: string } | null>(null)
  const action = useAction(list.reload)
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null)

  async function create (event: Event): Promise<void> {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const rate = String(data.get('rate') ?? '').trim()
    const body = { name: String(data.get('name') ?? '').trim(), role: String(data.get('role') ?? 'user'), ...(rate === '' ? {} : { rate }) }
    setError(null)
    try {
      const answer = await call<ApiKeyInfo>('/api/v1/keys', { method: 'POST', body })
      form.reset()
      setCreated(answer.data)
      list.reload()
    } catch (e) {
      const problem = toApiError(e)
      const word = /^\w+/.exec(problem.message)?.[0]
      setError({ field: word === 'name' || word === 'rate' ? word : 'form', text: problem.message })
    }
  }

  async function revoke (key: ApiKeyInfo): Promise<void> {
    setRevoking(null)
    await action.run(() => call(`/api/v1/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' }), `Key ${key.name} revoked.`)
  }

  return (
    <>
      <h1 tabindex={-1} ref={heading}>API keys</h1>
      <section class='panel' aria-labelledby='key-new'>
        <h2 id='key-new'>Create a key</h2>
        <form noValidate onSubmit={(e) => { create(e).catch(() => {}) }}>
          <div class='row'>
            <Field id='key-name' label='Name' hint='Who or what uses it: 1 to 64 characters.' error={error?.field === 'name' ? error.text : undefined}>
              {(d, i) => <input id='key-name' name='name' required maxLength={64} autocomplete='off' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
            </Field>
            <Field id='key-role' label='Role'>
              {(d) => <select id='key-role' name='role' aria-describedby={d}><option value='user'>user</option><option value='admin'>admin</option></select>}
            </Field>
            <Field id='key-rate' label='Rate (optional)' hint='e.g. 600/min or unlimited; the default when empty.' error={error?.field === 'rate' ? error.text : undefined}>
              {(d, i) => <input id='key-rate' name='rate' autocomplete='off' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
            </Field>
          </div>
          <button type='submit'>Create key</button>
          <p class='error' aria-live='polite'>{error?.field === 'form' ? error.text : ''}</p>
        </form>
        {created !== null && (
          <div class='secret' role='status'>
            <p>Key {created.name} created. Its secret is shown this once; hand it over now:</p>
            <p><code id='key-secret'>{created.secret}</code> <CopyButton text={created.secret ?? ''} label='Copy key' /></p>
          </div>
        )}
      </section>
      {action.said !== '' && <p role='status'>{action.said}</p>}
      {list.error !== undefined && <Notice kind='error'>{list.error.message}</Notice>}
      {list.data !== undefined && (
        <div class='table-wrap'>
          <table id='keys'>
            <thead><tr><th scope='col'>Name</th><th scope='col'>Id</th><th scope='col'>Role</th><th scope='col'>Rate</th><th scope='col'>Created</th><th scope='col'>State</th></tr></thead>
            <tbody>
              {list.data.keys.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td><td><code class='inline'>{key.id}</code></td><td>{key.role}</td><td>{key.rate ?? 'default'}</td><td>{when(key.createdAt)}</td>
                  <td>
                    {key.revokedAt !== null
                      ? `revoked ${when(key.revokedAt)}`
                      : key.id === me.id
                        ? 'active (yours)'
                        : <button type='button' class='danger' onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name}`}>Revoke…</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Confirm
        open={revoking !== null} title={`Revoke ${revoking?.name ?? ''}?`} confirm='Revoke key'
        onCancel={() => setRevoking(null)} onConfirm={() => { if (revoking !== null) revoke(revoking).catch(() => {}) }}
      >
        <p>Requests with this key are refused from now on. Its links stay.</p>
      </Confirm>
    </>
  )
}
