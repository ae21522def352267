// The anonymous form: a long URL, maybe an alias and an expiry, and the short link back with a
// copy button and its QR code. The API judges what is valid; each refusal is put next to the field
// it is about.
import type { JSX } from 'preact'
import { useRef, useState } from 'preact/hooks'
import { ApiError, call } from '../api.ts'
import type { Link } from '../types.ts'

type FieldName = 'url' | 'alias' | 'expiry' | 'form'

// The field an error is about: its code says so, or a validation message starts with its name.
const FIELD = new Map<string, FieldName>(Object.entries({
  SW_INVALID_URL: 'url',
  SW_URL_PRIVATE_TARGET: 'url',
  SW_URL_UNRESOLVABLE: 'url',
  SW_INVALID_ALIAS: 'alias',
  SW_ALIAS_TAKEN: 'alias',
  SW_INVALID_EXPIRY: 'expiry',
  url: 'url',
  alias: 'alias',
  expiresAt: 'expiry',
  ttlSeconds: 'expiry'
} as const))

/** The field a refusal is about, from its code or the first word of its message. */
export function fieldOf (error: ApiError): FieldName {
  if (error.status === 413) return 'url'
  return FIELD.get(error.code ?? '') ?? FIELD.get(/^\w+/.exec(error.message)?.[0] ?? '') ?? 'form'
}

const EXPIRIES: Array<[string, string]> = [
  ['', 'Never'], ['3600', 'In 1 hour'], ['86400', 'In 1 day'], ['604800', 'In 1 week'], ['2592000', 'In 30 days'], ['at', 'At a date and time…']
]

/** Now in the browser's time zone, as datetime-local wants it (no zone). */
export const localNow = (): string =>
  new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16)

export function QuickShorten (): JSX.Element {
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({})
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<Link | null>(null)
  const [expiry, setExpiry] = useState('')
  const [copied, setCopied] = useState('')
  const [qrBroken, setQrBroken] = useState(false)
  const form = useRef<HTMLFormElement>(null)
  const title = useRef<HTMLHeadingElement>(null)
  const short = useRef<HTMLAnchorElement>(null)

  function refuse (field: FieldName, message: string): void {
    setErrors({ [field]: message })
    // After the render that marks the field invalid.
    setTimeout(() => form.current?.querySelector<HTMLElement>(`#${field === 'expiry' && expiry === 'at' ? 'expires-at' : field}`)?.focus())
  }

  function read (data: FormData): Record<string, unknown> | undefined {
    const body: Record<string, unknown> = { url: String(data.get('url') ?? '').trim() }
    const alias = String(data.get('alias') ?? '').trim()
    if (body['url'] === '') {
      refuse('url', 'Paste the URL you want to shorten.')
      return undefined
    }
    if (alias !== '') body['alias'] = alias
    if (expiry === 'at') {
      const date = new Date(String(data.get('expiresAt') ?? '')) // no zone: the browser's local time
      if (isNaN(date.getTime())) {
        refuse('expiry', 'Pick the date and time the link should stop working.')
        return undefined
      }
      body['expiresAt'] = date.toISOString()
    } else if (expiry !== '') {
      body['ttlSeconds'] = Number(expiry)
    }
    return body
  }

  async function submit (event: Event): Promise<void> {
    event.preventDefault()
    if (busy || form.current === null) return
    setErrors({})
    const body = read(new FormData(form.current))
    if (body === undefined) return
    setResult(null)
    setBusy(true)
    try {
      const { data } = await call<Link>('/api/v1/links', { method: 'POST', body, anonymous: true })
      form.current.reset()
      setExpiry('')
      setCopied('')
      setQrBroken(false)
      setResult(data)
      setTimeout(() => title.current?.focus())
    } catch (error) {
      const e = error as ApiError
      const message = e.status === 401 ? 'Anonymous links are off here: sign in with an API key below, or use the API with one.' : e.message
      refuse(e.status === 0 ? 'form' : fieldOf(e), message)
    } finally {
      setBusy(false)
    }
  }

  // Editing a flagged field takes the flag and its message away.
  function edited (event: Event): void {
    const id = (event.target as HTMLElement).id
    const field = id === 'expires-at' ? 'expiry' : id as FieldName
    if (errors[field] !== undefined) setErrors({ ...errors, [field]: undefined })
  }

  async function copy (): Promise<void> {
    if (result === null || short.current === null) return
    try {
      await navigator.clipboard.writeText(result.shortUrl)
      setCopied('Copied.')
    } catch {
      // No clipboard API (plain http other than localhost) or no permission: select the link.
      getSelection()?.selectAllChildren(short.current)
      setCopied(document.execCommand('copy') ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.')
    }
  }

  const invalid = (field: FieldName): 'true' | undefined => errors[field] !== undefined ? 'true' : undefined
  const cut = result === null ? 0 : result.shortUrl.lastIndexOf('/') + 1
  return (
    <>
      <form id='shorten' ref={form} noValidate onSubmit={(e) => { submit(e).catch(() => {}) }} onInput={edited} aria-busy={busy ? 'true' : 'false'}>
        <div>
          <label for='url'>Long URL</label>
          <input id='url' name='url' type='url' required placeholder='https://example.com/a/long/path' aria-describedby='url-error' aria-invalid={invalid('url')} />
          <p id='url-error' class='error' aria-live='polite'>{errors.url ?? ''}</p>
        </div>
        <div>
          <label for='alias'>Custom alias <span class='hint'>(optional)</span></label>
          <input id='alias' name='alias' autocomplete='off' spellcheck={false} aria-describedby='alias-hint alias-error' aria-invalid={invalid('alias')} />
          <p id='alias-hint' class='hint'>3–64 letters, digits, “-” or “_”.</p>
          <p id='alias-error' class='error' aria-live='polite'>{errors.alias ?? ''}</p>
        </div>
        <div>
          <label for='expiry'>Expires</label>
          <select id='expiry' value={expiry} onChange={(e) => setExpiry((e.target as HTMLSelectElement).value)} aria-describedby='expiry-error' aria-invalid={expiry === 'at' ? undefined : invalid('expiry')}>
            {EXPIRIES.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
          <label for='expires-at' class='sub' hidden={expiry !== 'at'}>Date and time (your time zone)</label>
          <input id='expires-at' name='expiresAt' type='datetime-local' hidden={expiry !== 'at'} min={localNow()} aria-describedby='expiry-error' aria-invalid={expiry === 'at' ? invalid('expiry') : undefined} />
          <p id='expiry-error' class='error' aria-live='polite'>{errors.expiry ?? ''}</p>
        </div>
        <button type='submit'>{busy ? 'Shortening…' : 'Shorten'}</button>
        <p id='form-error' class='error' aria-live='polite'>{errors.form ?? ''}</p>
      </form>
      <section id='result' hidden={result === null} aria-labelledby='result-title'>
        <h2 id='result-title' tabindex={-1} ref={title}>Your short link</h2>
        {result !== null && (
          <>
            {/* A narrow screen may break the line after the host, never inside the key. */}
            <p class='short'><a id='short-url' ref={short} href={result.shortUrl}>{result.shortUrl.slice(0, cut)}<wbr />{result.shortUrl.slice(cut)}</a></p>
            <p><button id='copy' type='button' class='secondary' onClick={() => { copy().catch(() => {}) }}>Copy link</button> <span id='copy-status' aria-live='polite'>{copied}</span></p>
            <p id='expires'>{result.expiresAt !== null ? `Works until ${new Date(result.expiresAt).toLocaleString()}.` : 'Never expires.'}</p>
            {/* No image beats a broken one (the QR endpoint may be rate limited or down). */}
            <img id='qr' width={160} height={160} alt={`QR code for ${result.shortUrl}`} src={`/api/v1/links/${encodeURIComponent(result.key)}/qr`} hidden={qrBroken} onError={() => setQrBroken(true)} />
          </>
        )}
      </section>
    </>
  )
}
