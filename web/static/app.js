// Placeholder page: POST the URL as JSON and show the short link (or the API's error message).
const form = document.getElementById('shorten')
const result = document.getElementById('result')

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  result.textContent = 'Shortening…'
  try {
    const response = await fetch('/api/v1/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ url: form.elements.url.value })
    })
    const body = await response.json()
    if (!response.ok) {
      result.textContent = body.message ?? `Error ${response.status}`
      return
    }
    const link = document.createElement('a')
    link.href = body.shortUrl
    link.textContent = body.shortUrl
    result.replaceChildren('Your short link: ', link)
  } catch {
    result.textContent = 'The service could not be reached; try again shortly.'
  }
})
