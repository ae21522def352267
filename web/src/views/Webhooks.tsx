// Your webhook endpoints: register one (its signing secret is shown once), pause or resume it,
// remove it, and see its latest delivery attempts.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { call, get } from '../api.ts'
import { Confirm, CopyButton, Field, Notice, when } from '../ui/controls.tsx'
import { toApiError, useAction, useFocusOnMount, useLoad } from '../ui/hooks.ts'
import type { Me } from '../session.ts'
import type { Delivery, Webhook } from '../types.ts'

const EVENTS = ['link.created', 'link.updated', 'link.deleted', 'link.clicked'] as const

function Deliveries ({ id }: { id: string }): JSX.Element {
  const list = useLoad(() => get<{ deliveries: Delivery[] }>(`/api/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=20`), [id])
  if (list.error !== undefined) return <Notice kind='error'>{list.error.message}</Notice>
  if (list.data === undefined) return <p class='hint'>Loading…</p>
  if (list.data.deliveries.length === 0) return <p class='hint'>No deliveries yet.</p>
  return (
    <div class='table-wrap'>
      <table class='deliveries'>
        <thead><tr><th scope='col'>When</th><th scope='col'>Event</th><th scope='col' class='num'>Attempt</th><th scope='col'>Outcome</th><th scope='col' class='num'>Status</th><th scope='col' class='num'>Time</th></tr></thead>
        <tbody>
          {list.data.deliveries.map((d) => (
            <tr key={`${d.eventId}-${d.attempt}`}>
              <td>{when(d.at)}</td><td>{d.eventType}</td><td class='num'>{d.attempt}</td>
              <td>{d.outcome}{d.error !== null && <span class='hint'> ({d.error})</span>}</td>
              <td class='num'>{d.statusCode ?? '—'}</td><td class='num'>{d.durationMs} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function Webhooks ({ me }: { me: Me }): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>('webhooks')
  const list = useLoad(() => get<{ webhooks: Webhook[] }>('/api/v1/webhooks'), [])
  const [created, setCreated] = useState<Webhook | null>(null)
  const [error, setError] = useState<{ field: 'url' | 'events' | 'form', text: string } | null>(null)
  const action = useAction(list.reload)
  const [open, setOpen] = useState<string | null>(null)
  const [removing, setRemoving] = useState<Webhook | null>(null)

  async function create (event: Event): Promise<void> {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const events = data.getAll('events').map(String)
    setError(null)
    if (events.length === 0) {
      setError({ field: 'events', text: 'Pick at least one event.' })
      return
    }
    try {
      const answer = await call<Webhook>('/api/v1/webhooks', { method: 'POST', body: { url: String(data.get('url') ?? '').trim(), events } })
      form.reset()
      setCreated(answer.data)
      list.reload()
    } catch (e) {
      const problem = toApiError(e)
      setError({ field: /^url\b/.test(problem.message) || problem.code?.startsWith('SW_URL') === true || problem.code === 'SW_INVALID_URL' ? 'url' : 'form', text: problem.message })
    }
  }

  return (
    <>
      <h1 tabindex={-1} ref={heading}>Webhooks</h1>
      <p class='hint'>Shortwave POSTs signed events about {me.role === 'admin' ? 'every link' : 'your links'} to these endpoints, retrying for up to three days.</p>
      <section class='panel' aria-labelledby='wh-new'>
        <h2 id='wh-new'>Add an endpoint</h2>
        <form noValidate onSubmit={(e) => { create(e).catch(() => {}) }}>
          <Field id='wh-url' label='Endpoint URL' error={error?.field === 'url' ? error.text : undefined}>
            {(d, i) => <input id='wh-url' name='url' type='url' required placeholder='https://hooks.example/shortwave' aria-describedby={d} aria-invalid={i ? 'true' : undefined} />}
          </Field>
          <fieldset aria-describedby='wh-events-error'>
            <legend>Events</legend>
            {EVENTS.map((name) => (
              <div class='check' key={name}>
                <input id={`wh-ev-${name}`} name='events' type='checkbox' value={name} defaultChecked={name !== 'link.clicked'} />
                <label for={`wh-ev-${name}`}>{name}</label>
              </div>
            ))}
            <p id='wh-events-error' class='error' aria-live='polite'>{error?.field === 'events' ? error.text : ''}</p>
          </fieldset>
          <button type='submit'>Add endpoint</button>
          <p class='error' aria-live='polite'>{error?.field === 'form' ? error.text : ''}</p>
        </form>
        {created !== null && (
          <div class='secret' role='status'>
            <p>Endpoint added. Its signing secret is shown this once; store it now:</p>
            <p><code id='wh-secret'>{created.secret}</code> <CopyButton text={created.secret ?? ''} label='Copy secret' /></p>
          </div>
        )}
      </section>
      {action.said !== '' && <p role='status'>{action.said}</p>}
      {list.error !== undefined && <Notice kind='error'>{list.error.message}</Notice>}
      {list.data?.webhooks.length === 0 && <p>No endpoints yet.</p>}
      <ul class='cards' id='webhooks'>
        {(list.data?.webhooks ?? []).map((hook) => (
          <li key={hook.id} class='panel'>
            <p class='url'><strong>{hook.url}</strong></p>
            <p>{hook.events.join(', ')}{hook.allLinks ? ' · every link' : ''} · {hook.enabled ? 'enabled' : <span class='badge'>paused</span>}
              {hook.disabledReason !== null && <span class='hint'> ({hook.disabledReason})</span>}
            </p>
            <p class='actions'>
              <button type='button' class='secondary' aria-expanded={open === hook.id} onClick={() => setOpen(open === hook.id ? null : hook.id)}>Deliveries</button>
              <button
                type='button' class='secondary' onClick={() => {
                  action.run(() => call(`/api/v1/webhooks/${encodeURIComponent(hook.id)}`, { method: 'PATCH', body: { enabled: !hook.enabled } }), hook.enabled ? 'Endpoint paused.' : 'Endpoint resumed.').catch(() => {})
                }}
              >{hook.enabled ? 'Pause' : 'Resume'}
              </button>
              <button type='button' class='danger' onClick={() => setRemoving(hook)}>Remove…</button>
            </p>
            {open === hook.id && <Deliveries id={hook.id} />}
          </li>
        ))}
      </ul>
      <Confirm
        open={removing !== null} title='Remove this endpoint?' confirm='Remove endpoint' onCancel={() => setRemoving(null)}
        onConfirm={() => {
          const hook = removing
          setRemoving(null)
          if (hook !== null) action.run(() => call(`/api/v1/webhooks/${encodeURIComponent(hook.id)}`, { method: 'DELETE' }), 'Endpoint removed.').catch(() => {})
        }}
      >
        <p>No more events go to {removing?.url}.</p>
      </Confirm>
    </>
  )
}
