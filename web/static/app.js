// POSTs the form to /api/v1/links as JSON, shows the short link, a copy button and the QR code,
// and puts each error next to the field it is about. The API judges what is valid.
const $ = (id) => document.getElementById(id)
const form = $('shorten')
const button = form.querySelector('button')
const fields = { url: $('url'), alias: $('alias'), expiry: $('expiry') }
const at = $('expires-at')
const short = $('short-url')
const qr = $('qr')
const copied = $('copy-status')

// The field an error is about: its code says so, or a validation message starts with its name.
const FIELD = {
  __proto__: null,
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
}

// Retry-After: the services and nginx send seconds.
function messageOf (status, body, retryAfter) {
  const s = Number(retryAfter) || 0
  const wait = s && (s < 90 ? `in ${s} second${s > 1 ? 's' : ''}` : `in ${Math.ceil(s / 60)} minutes`)
  if (status === 401) return 'Anonymous links are off here: create links through the API with an API key.'
  if (status === 413) return 'That is too long to shorten.'
  if (status === 415) return 'The server did not understand the request; reload the page and retry.'
  if (status === 429) return `Too many links from your address; try again ${wait || 'in a minute'}.`
  if (status >= 500) return `Shortwave is unavailable for a moment; try again ${wait || 'shortly'}.`
  return body.message || `That did not work (HTTP ${status}).`
}

function showError (field, message) {
  $(`${field ?? 'form'}-error`).textContent = message
  const input = field === 'expiry' && !at.hidden ? at : fields[field]
  input?.setAttribute('aria-invalid', 'true')
  input?.focus()
}

/** The request body, or undefined after saying what is missing. */
function readForm () {
  const body = { url: fields.url.value.trim() }
  const alias = fields.alias.value.trim()
  const expiry = fields.expiry.value
  if (!body.url) return showError('url', 'Paste the URL you want to shorten.')
  if (alias) body.alias = alias
  if (expiry === 'at') {
    const date = new Date(at.value) // no zone: the browser's local time
    if (isNaN(date)) return showError('expiry', 'Pick the date and time the link should stop working.')
    body.expiresAt = date.toISOString()
  } else if (expiry) {
    body.ttlSeconds = Number(expiry)
  }
  return body
}

function showResult (link) {
  // A narrow screen may break the line after the host, never inside the key.
  const cut = link.shortUrl.lastIndexOf('/') + 1
  short.href = link.shortUrl
  short.replaceChildren(link.shortUrl.slice(0, cut), document.createElement('wbr'), link.shortUrl.slice(cut))
  $('expires').textContent = link.expiresAt ? `Works until ${new Date(link.expiresAt).toLocaleString()}.` : 'Never expires.'
  copied.textContent = ''
  qr.hidden = false
  qr.alt = `QR code for ${link.shortUrl}`
  qr.src = `/api/v1/links/${encodeURIComponent(link.key)}/qr`
  $('result').hidden = false
  form.reset()
  toggleDate()
  $('result-title').focus()
}

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  if (form.ariaBusy === 'true') return
  for (const error of form.querySelectorAll('.error')) error.textContent = ''
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid')
  const body = readForm()
  if (!body) return
  $('result').hidden = true
  form.ariaBusy = 'true'
  button.textContent = 'Shortening…'
  try {
    const response = await fetch('/api/v1/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    const answer = await response.json().catch(() => ({}))
    if (response.ok) return showResult(answer)
    const field = response.status === 413 ? 'url' : FIELD[answer.code] ?? FIELD[/^\w+/.exec(answer.message)?.[0]]
    showError(field, messageOf(response.status, answer, response.headers.get('retry-after')))
  } catch {
    showError(null, 'Shortwave could not be reached; check your connection and try again.')
  } finally {
    form.ariaBusy = 'false'
    button.textContent = 'Shorten'
  }
})

// Editing a flagged field takes the flag and its message away.
form.addEventListener('input', ({ target }) => {
  if (!target.hasAttribute('aria-invalid')) return
  target.removeAttribute('aria-invalid')
  $(target.getAttribute('aria-describedby').split(' ').find((id) => id.endsWith('-error'))).textContent = ''
})

function toggleDate () {
  at.hidden = at.labels[0].hidden = fields.expiry.value !== 'at'
  // datetime-local wants local time without a zone.
  at.min = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}
fields.expiry.addEventListener('change', toggleDate)

$('copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(short.textContent)
    copied.textContent = 'Copied.'
  } catch {
    // No clipboard API (plain http other than localhost) or no permission: select the link.
    window.getSelection().selectAllChildren(short)
    copied.textContent = document.execCommand('copy') ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.'
  }
})

// No image beats a broken one (the QR endpoint may be rate limited or down).
qr.addEventListener('error', () => { qr.hidden = true })

form.hidden = false
