// One link: its short URL (copy, QR code as SVG or PNG), the edit form (sent with the ETag it was
// read with, so an edit made elsewhere meanwhile is not overwritten), disable, delete, history.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { ApiError, call, linkPath, query } from '../api.ts'
import { Confirm, CopyButton, count, Notice, saveBlob, when } from '../ui/controls.tsx'
import { toApiError, useFocusOnMount, useLoad } from '../ui/hooks.ts'
import { go, href } from '../router.ts'
import type { Domain, HistoryPage, Link } from '../types.ts'
import { fromLocal, LinkForm, toLocal, type LinkFields } from './LinkForm.tsx'

interface Loaded { link: Link, etag: string }

const sameInstant = (a: string | null, b: string | null): boolean => fromLocal(toLocal(a)) === b

/** The fields of the form that differ from the link as it was read: the PATCH body. */
export function changes (link: Link, fields: LinkFields): Record<string, unknown> {
  const patch: Record<string, unknown> = {}
  if (fields['url'] !== link.url) patch['url'] = fields['url']
  if (fields['title'] !== link.title) patch['title'] = fields['title']
  const tags = fields['tags'] as string[]
  if (tags.join('\n') !== link.tags.join('\n')) patch['tags'] = tags
  for (const name of ['expiresAt', 'validFrom'] as const) {
    if (!sameInstant(link[name], fields[name] as string | null)) patch[name] = fields[name]
  }
  for (const name of ['maxClicks', 'fallbackUrl', 'redirectStatus', 'forwardQuery', 'disabled'] as const) {
    if (fields[name] !== link[name]) patch[name] = fields[name]
  }
  return patch
}

function describe (value: unknown): string {
  if (value === null || value === undefined) return 'none'
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ')
  return String(value)
}

export function LinkDetail ({ linkKey, domain }: { linkKey: string, domain: string }): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>(linkKey)
  const [said, setSaid] = useState<{ kind: 'status' | 'error', text: string } | null>(
    new URLSearchParams(location.hash.split('?')[1]).get('created') === '1' ? { kind: 'status', text: 'Link created.' } : null)
  const [confirming, setConfirming] = useState(false)
  const [historyCursor, setHistoryCursor] = useState<string | null>(null)
  const [formRound, setFormRound] = useState(0)
  const loaded = useLoad(async (): Promise<Loaded> => {
    const answer = await call<Link>(linkPath(linkKey, domain))
    return { link: answer.data, etag: answer.headers.get('etag') ?? '' }
  }, [linkKey, domain, formRound])
  const domains = useLoad(() => call<{ domains: Domain[] }>('/api/v1/domains').then((a) => a.data.domains), [])
  const history = useLoad(async () => {
    const answer = await call<HistoryPage>(`/api/v1/links/${encodeURIComponent(linkKey)}/history${query({ domain, limit: 10, cursor: historyCursor })}`)
    return answer.data
  }, [linkKey, domain, formRound, historyCursor])

  async function patch (body: Record<string, unknown>, done: string): Promise<void> {
    if (loaded.data === undefined) return
    if (Object.keys(body).length === 0) {
      setSaid({ kind: 'status', text: 'Nothing changed.' })
      return
    }
    try {
      await call<Link>(linkPath(linkKey, domain), { method: 'PATCH', body, headers: { 'if-match': loaded.data.etag } })
      setSaid({ kind: 'status', text: done })
      setFormRound((r) => r + 1)
    } catch (e) {
      const error = toApiError(e)
      if (error.status === 412) {
        throw new ApiError(412, 'This link was changed elsewhere since you opened it. Reload it to see the changes, then edit again.', 'SW_PRECONDITION_FAILED')
      }
      throw error
    }
  }

  async function remove (): Promise<void> {
    setConfirming(false)
    try {
      await call(linkPath(linkKey, domain), { method: 'DELETE', headers: { 'if-match': loaded.data?.etag ?? '' } })
      go(href(['links'], { deleted: linkKey }))
    } catch (e) {
      setSaid({ kind: 'error', text: toApiError(e).message })
    }
  }

  async function downloadQr (format: 'svg' | 'png'): Promise<void> {
    try {
      const { data } = await call<Blob>(linkPath(linkKey, domain, '/qr', { format }), { anonymous: true })
      saveBlob(data, `${linkKey}.${format}`)
    } catch (e) {
      setSaid({ kind: 'error', text: toApiError(e).message })
    }
  }

  if (loaded.error !== undefined && loaded.data === undefined) {
    return <><h1 tabindex={-1} ref={heading}>Link {linkKey}</h1><Notice kind='error'>{loaded.error.message}</Notice><p><a href={href(['links'])}>Back to your links</a></p></>
  }
  const link = loaded.data?.link
  return (
    <>
      <h1 tabindex={-1} ref={heading}>Link <span class='key'>{linkKey}</span></h1>
      {said !== null && <Notice kind={said.kind}>{said.text}</Notice>}
      {link === undefined
        ? <p role='status'>Loading…</p>
        : (
          <>
            <section class='panel link-summary' aria-label='Short link'>
              <p class='short'><a id='detail-short-url' href={link.shortUrl}>{link.shortUrl}</a></p>
              {link.title !== null && <p class='title'>{link.title}</p>}
              <p class='url'>Leads to <span>{link.url}</span></p>
              <p>
                {link.disabled ? <span class='badge'>disabled</span> : null}
                {count(link.clicks ?? 0)} {link.clicks === 1 ? 'click' : 'clicks'} · created {when(link.createdAt)} · {link.expiresAt === null ? 'never expires' : `expires ${when(link.expiresAt)}`}
              </p>
              <p class='actions'>
                <CopyButton text={link.shortUrl} id='detail-copy' />
                <a class='button secondary' href={href(['link', linkKey, 'stats'], { domain })}>Statistics</a>
                <button
                  type='button' class='secondary' id='toggle-disabled' onClick={() => {
                    patch({ disabled: !link.disabled }, link.disabled ? 'Link enabled: it redirects again.' : 'Link disabled: it no longer redirects.')
                      .catch((e: unknown) => setSaid({ kind: 'error', text: toApiError(e).message }))
                  }}
                >{link.disabled ? 'Enable' : 'Disable'}
                </button>
                <button type='button' class='danger' id='delete' onClick={() => setConfirming(true)}>Delete…</button>
              </p>
              <div class='qr'>
                <img src={linkPath(linkKey, domain, '/qr')} width={160} height={160} alt={`QR code for ${link.shortUrl}`} />
                <p class='actions'>
                  <button type='button' class='secondary' onClick={() => { downloadQr('svg').catch(() => {}) }}>Download QR (SVG)</button>
                  <button type='button' class='secondary' onClick={() => { downloadQr('png').catch(() => {}) }}>Download QR (PNG)</button>
                </p>
              </div>
            </section>
            <section aria-labelledby='edit-title'>
              <h2 id='edit-title'>Edit</h2>
              <LinkForm
                key={`${loaded.data?.etag}`} link={link} domains={domains.data ?? []} submitLabel='Save changes' busyLabel='Saving…'
                onSubmit={(fields) => patch(changes(link, fields), 'Changes saved.')}
              />
            </section>
          </>
          )}
      <section aria-labelledby='history-title'>
        <h2 id='history-title'>Edit history</h2>
        {history.error !== undefined && <Notice kind='error'>{history.error.message}</Notice>}
        {history.data !== undefined && history.data.edits.length === 0 && <p>No edits yet.</p>}
        {history.data !== undefined && history.data.edits.length > 0 && (
          <ol class='history' id='history'>
            {history.data.edits.map((edit) => (
              <li key={edit.version}>
                <p><strong>Version {edit.version}</strong>, {when(edit.editedAt)}, by <code class='inline'>{edit.editedBy}</code></p>
                <ul>
                  {Object.keys(edit.after).map((field) => (
                    <li key={field}><span class='field-name'>{field}</span>: {describe(edit.before[field])} → {describe(edit.after[field])}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        )}
        {history.data?.nextCursor != null && (
          <button type='button' class='secondary' onClick={() => setHistoryCursor(history.data?.nextCursor ?? null)}>Older edits</button>
        )}
      </section>
      <Confirm
        open={confirming} title={`Delete ${linkKey}?`} confirm='Delete link' onConfirm={() => { remove().catch(() => {}) }} onCancel={() => setConfirming(false)}
      >
        <p>The short link stops working within seconds, and its key is never given out again. This cannot be undone.</p>
      </Confirm>
    </>
  )
}
