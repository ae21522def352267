// The domains links can be served on; admins register and remove them.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { call, get } from '../api.ts'
import { Confirm, Field, Notice, when } from '../ui/controls.tsx'
import { toApiError, useAction, useFocusOnMount, useLoad } from '../ui/hooks.ts'
import type { Me } from '../session.ts'
import type { Domain } from '../types.ts'

type DomainField = 'host' | 'rootRedirect' | 'notFoundRedirect' | 'form'

export function Domains ({ me }: { me: Me }): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>('domains')
  const list = useLoad(() => get<{ domains: Domain[] }>('/api/v1/domains'), [])
  const [error, setError] = useState<{ field: DomainField, text: string } | null>(null)
  const action = useAction(list.reload)
  const [removing, setRemoving] = useState<Domain | null>(null)

  async function register (event: Event): Promise<void> {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const body: Record<string, string> = {}
    for (const name of ['host', 'rootRedirect', 'notFoundRedirect']) {
      const value = String(data.get(name) ?? '').trim()
      if (value !== '') body[name] = value
    }
    setError(null)
    try {
      await call('/api/v1/domains', { method: 'POST', body })
      form.reset()
      action.succeeded(`Domain ${body['host'] ?? ''} registered: point its DNS at this service.`)
    } catch (e) {
      const problem = toApiError(e)
      const word = /^\w+/.exec(problem.message)?.[0] ?? ''
      setError({ field: ['host', 'rootRedirect', 'notFoundRedirect'].includes(word) ? word as DomainField : 'form', text: problem.message })
    }
  }

  async function remove (domain: Domain): Promise<void> {
    setRemoving(null)
    await action.run(() => call(`/api/v1/domains/${encodeURIComponent(domain.host)}`, { method: 'DELETE' }), `Domain ${domain.host} removed.`)
  }

  const admin = me.role === 'admin'
  const fieldError = (f: DomainField): string | undefined => error?.field === f ? error.text : undefined
  return (
    <>
      <h1 tabindex={-1} ref={heading}>Domains</h1>
      {admin && (
        <section class='panel' aria-labelledby='dom-new'>
          <h2 id='dom-new'>Register a domain</h2>
          <form noValidate onSubmit={(e) => { register(e).catch(() => {}) }}>
            <Field id='dom-host' label='Host' hint='e.g. go.example.com' error={fieldError('host')}>
              {(d, i) => <input id='dom-host' name='host' required autocomplete='off' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
            </Field>
            <div class='row'>
              <Field id='dom-root' label='Its home page goes to (optional)' error={fieldError('rootRedirect')}>
                {(d, i) => <input id='dom-root' name='rootRedirect' type='url' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
              </Field>
              <Field id='dom-nf' label='Unknown keys go to (optional)' error={fieldError('notFoundRedirect')}>
                {(d, i) => <input id='dom-nf' name='notFoundRedirect' type='url' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
              </Field>
            </div>
            <button type='submit'>Register domain</button>
            <p class='error' aria-live='polite'>{fieldError('form') ?? ''}</p>
          </form>
        </section>
      )}
      {action.said !== '' && <p role='status'>{action.said}</p>}
      {list.error !== undefined && <Notice kind='error'>{list.error.message}</Notice>}
      {list.data !== undefined && (
        <div class='table-wrap'>
          <table id='domains'>
            <thead><tr><th scope='col'>Host</th><th scope='col'>Home page goes to</th><th scope='col'>Unknown keys go to</th><th scope='col'>Registered</th>{admin && <th scope='col'><span class='visually-hidden'>Actions</span></th>}</tr></thead>
            <tbody>
              {list.data.domains.map((d) => (
                <tr key={d.host}>
                  <td>{d.host}{d.default && <span class='badge'>default</span>}</td><td>{d.rootRedirect ?? '—'}</td><td>{d.notFoundRedirect ?? '—'}</td><td>{when(d.createdAt)}</td>
                  {admin && <td>{!d.default && <button type='button' class='danger' onClick={() => setRemoving(d)} aria-label={`Remove ${d.host}`}>Remove…</button>}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Confirm
        open={removing !== null} title={`Remove ${removing?.host ?? ''}?`} confirm='Remove domain'
        onCancel={() => setRemoving(null)} onConfirm={() => { if (removing !== null) remove(removing).catch(() => {}) }}
      >
        <p>Its links are kept but no longer served.</p>
      </Confirm>
    </>
  )
}
