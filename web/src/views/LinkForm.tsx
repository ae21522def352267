// Every option of a link, for creating one and for editing it. The API judges what is valid; a
// refusal is shown next to the field its message names.
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import type { ApiError } from '../api.ts'
import { Field } from '../ui/controls.tsx'
import type { Domain, Link } from '../types.ts'

export type LinkFields = Record<string, unknown>

const FIELDS = ['url', 'alias', 'domain', 'title', 'tags', 'expiresAt', 'validFrom', 'maxClicks', 'fallbackUrl', 'redirectStatus', 'forwardQuery', 'disabled'] as const
type FieldName = typeof FIELDS[number] | 'form'

const CODES: Record<string, FieldName> = {
  SW_INVALID_URL: 'url',
  SW_URL_PRIVATE_TARGET: 'url',
  SW_URL_UNRESOLVABLE: 'url',
  SW_INVALID_ALIAS: 'alias',
  SW_ALIAS_TAKEN: 'alias',
  SW_INVALID_EXPIRY: 'expiresAt'
}

/** The field a refusal is about: by its code, else the field its message starts with. */
export function fieldOfError (error: ApiError): FieldName {
  const byCode = error.code === undefined ? undefined : CODES[error.code]
  if (byCode !== undefined) return byCode
  const word = /^[A-Za-z]+/.exec(error.message)?.[0]
  if (word === 'ttlSeconds') return 'expiresAt'
  return (FIELDS as readonly string[]).includes(word ?? '') ? word as FieldName : 'form'
}

/** An ISO instant as datetime-local wants it: the browser's local time, no zone. */
export const toLocal = (iso: string | null | undefined): string =>
  iso == null ? '' : new Date(new Date(iso).getTime() - new Date(iso).getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
export const fromLocal = (local: string): string | null => local === '' ? null : new Date(local).toISOString()

/** The form's values in the API's terms (every field, null where empty). */
function read (form: HTMLFormElement): LinkFields {
  const data = new FormData(form)
  const text = (name: string): string => String(data.get(name) ?? '').trim()
  const tags = text('tags').split(/[\s,]+/).filter((t) => t !== '')
  return {
    url: text('url'),
    alias: text('alias'),
    domain: text('domain'),
    title: text('title') || null,
    tags,
    expiresAt: fromLocal(text('expiresAt')),
    validFrom: fromLocal(text('validFrom')),
    maxClicks: text('maxClicks') === '' ? null : Number(text('maxClicks')),
    fallbackUrl: text('fallbackUrl') || null,
    redirectStatus: text('redirectStatus') === '' ? null : Number(text('redirectStatus')),
    forwardQuery: data.get('forwardQuery') !== null,
    disabled: data.get('disabled') !== null
  }
}

interface Props {
  /** The link being edited; a new one when absent. */
  link?: Link
  domains: Domain[]
  submitLabel: string
  busyLabel: string
  /** Sends the form's values; throws what the API answered. */
  onSubmit: (fields: LinkFields) => Promise<void>
}

export function LinkForm ({ link, domains, submitLabel, busyLabel, onSubmit }: Props): JSX.Element {
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({})
  const [busy, setBusy] = useState(false)
  const editing = link !== undefined

  async function submit (event: Event): Promise<void> {
    event.preventDefault()
    if (busy) return
    const form = event.currentTarget as HTMLFormElement
    const fields = read(form)
    if (fields['url'] === '') {
      setErrors({ url: 'Paste the URL the link should lead to.' })
      form.querySelector<HTMLElement>('#lf-url')?.focus()
      return
    }
    setBusy(true)
    setErrors({})
    try {
      await onSubmit(fields)
    } catch (e) {
      const error = e as ApiError
      const field = fieldOfError(error)
      setErrors({ [field]: error.message })
      setTimeout(() => form.querySelector<HTMLElement>(field === 'form' ? '#lf-form-error' : `#lf-${field}`)?.focus())
    } finally {
      setBusy(false)
    }
  }

  const err = (name: FieldName): string | undefined => errors[name]
  const inv = (on: boolean): 'true' | undefined => on ? 'true' : undefined
  return (
    <form class='link-form' noValidate onSubmit={(e) => { submit(e).catch(() => {}) }} aria-busy={busy ? 'true' : 'false'}>
      <Field id='lf-url' label='Long URL' error={err('url')}>
        {(d, i) => <input id='lf-url' name='url' type='url' required defaultValue={link?.url} aria-describedby={d} aria-invalid={inv(i)} />}
      </Field>
      {!editing && (
        <div class='row'>
          <Field id='lf-alias' label='Custom alias (optional)' hint='3–64 letters, digits, “-” or “_”; a random key when empty.' error={err('alias')}>
            {(d, i) => <input id='lf-alias' name='alias' autocomplete='off' spellcheck={false} aria-describedby={d} aria-invalid={inv(i)} />}
          </Field>
          <Field id='lf-domain' label='Domain' error={err('domain')}>
            {(d, i) => (
              <select id='lf-domain' name='domain' aria-describedby={d} aria-invalid={inv(i)}>
                {domains.map((dm) => <option key={dm.host} value={dm.default ? '' : dm.host}>{dm.host}{dm.default ? ' (default)' : ''}</option>)}
              </select>
            )}
          </Field>
        </div>
      )}
      <Field id='lf-title' label='Title (optional)' error={err('title')}>
        {(d, i) => <input id='lf-title' name='title' defaultValue={link?.title ?? ''} maxLength={200} aria-describedby={d} aria-invalid={inv(i)} />}
      </Field>
      <Field id='lf-tags' label='Tags (optional)' hint='Up to 10, separated by commas or spaces.' error={err('tags')}>
        {(d, i) => <input id='lf-tags' name='tags' defaultValue={link?.tags.join(', ') ?? ''} autocomplete='off' aria-describedby={d} aria-invalid={inv(i)} />}
      </Field>
      <fieldset>
        <legend>When it works</legend>
        <div class='row'>
          <Field id='lf-validFrom' label='Works from (your time zone)' hint='Empty: from now.' error={err('validFrom')}>
            {(d, i) => <input id='lf-validFrom' name='validFrom' type='datetime-local' defaultValue={toLocal(link?.validFrom)} aria-describedby={d} aria-invalid={inv(i)} />}
          </Field>
          <Field id='lf-expiresAt' label='Expires at (your time zone)' hint='Empty: never.' error={err('expiresAt')}>
            {(d, i) => <input id='lf-expiresAt' name='expiresAt' type='datetime-local' defaultValue={toLocal(link?.expiresAt)} aria-describedby={d} aria-invalid={inv(i)} />}
          </Field>
          <Field id='lf-maxClicks' label='Most clicks (optional)' hint='It stops redirecting after this many.' error={err('maxClicks')}>
            {(d, i) => <input id='lf-maxClicks' name='maxClicks' type='number' min={1} step={1} defaultValue={link?.maxClicks?.toString() ?? ''} aria-describedby={d} aria-invalid={inv(i)} />}
          </Field>
        </div>
        <Field id='lf-fallbackUrl' label='Fallback URL (optional)' hint='Where people go when the link may not redirect (before it starts, after it expires or is used up, while disabled).' error={err('fallbackUrl')}>
          {(d, i) => <input id='lf-fallbackUrl' name='fallbackUrl' type='url' defaultValue={link?.fallbackUrl ?? ''} aria-describedby={d} aria-invalid={inv(i)} />}
        </Field>
      </fieldset>
      <fieldset>
        <legend>How it redirects</legend>
        <Field id='lf-redirectStatus' label='Redirect status' error={err('redirectStatus')}>
          {(d, i) => (
            <select id='lf-redirectStatus' name='redirectStatus' aria-describedby={d} aria-invalid={inv(i)}>
              {[['', 'The service default'], ['301', '301 Moved permanently'], ['302', '302 Found'], ['307', '307 Temporary redirect'], ['308', '308 Permanent redirect']]
                .map(([value, label]) => <option key={value} value={value} selected={String(link?.redirectStatus ?? '') === value}>{label}</option>)}
            </select>
          )}
        </Field>
        <div class='check'>
          <input id='lf-forwardQuery' name='forwardQuery' type='checkbox' defaultChecked={link?.forwardQuery ?? false} />
          <label for='lf-forwardQuery'>Pass the short link's query string on to the target</label>
        </div>
        <div class='check'>
          <input id='lf-disabled' name='disabled' type='checkbox' defaultChecked={link?.disabled ?? false} />
          <label for='lf-disabled'>Disabled (does not redirect)</label>
        </div>
        {err('forwardQuery') !== undefined && <p class='error'>{err('forwardQuery')}</p>}
        {err('disabled') !== undefined && <p class='error'>{err('disabled')}</p>}
      </fieldset>
      <button type='submit' id='lf-submit'>{busy ? busyLabel : submitLabel}</button>
      <p id='lf-form-error' class='error' tabindex={-1} aria-live='polite'>{errors.form ?? ''}</p>
    </form>
  )
}
