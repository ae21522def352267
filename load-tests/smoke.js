// Smoke: every public endpoint once, through nginx, with every answer checked. Some seconds.
// `npm test` runs it with TIMING=off (errors and checks only); `npm run load -- smoke` keeps a
// loose latency threshold as well.
import http from 'k6/http'
import { check, fail, sleep } from 'k6'
import { BASE_URL, NO_FOLLOW, JSON_HEADERS, createLink, thresholds, uniqueSuffix } from './lib/common.js'

export const options = {
  scenarios: { smoke: { executor: 'per-vu-iterations', vus: 1, iterations: 1, maxDuration: '60s' } },
  thresholds: thresholds(
    { checks: ['rate==1'], http_req_failed: ['rate==0'] },
    { http_req_duration: ['p(95)<500'] }
  )
}

const expect = (...statuses) => ({ responseCallback: http.expectedStatuses(...statuses) })
const isJson = (r) => String(r.headers['Content-Type']).startsWith('application/json')
const json = (r) => { try { return r.json() } catch { return {} } }

export default function () {
  const page = http.get(`${BASE_URL}/`)
  check(page, {
    'page: 200 text/html': (r) => r.status === 200 && String(r.headers['Content-Type']).startsWith('text/html'),
    'page: carries X-Request-Id': (r) => Boolean(r.headers['X-Request-Id'])
  })

  const url = `https://example.com/smoke/${uniqueSuffix()}?q=1&r=%C3%A9`
  const created = createLink(url)
  const link = json(created)
  if (!check(created, {
    'create: 201': (r) => r.status === 201,
    'create: key, shortUrl, url, createdAt, expiresAt': () => Boolean(link.key && link.shortUrl && link.createdAt) && link.url === url && link.expiresAt === null,
    'create: Location is the API URL of the link': (r) => String(r.headers.Location).endsWith(`/api/v1/links/${link.key}`)
  })) fail(`create answered ${created.status}: ${created.body}`)

  const meta = http.get(`${BASE_URL}/api/v1/links/${link.key}`)
  check(meta, { 'metadata: 200 with the url and 0 clicks': (r) => r.status === 200 && json(r).url === url && json(r).clicks === 0 })

  const follow = http.get(`${BASE_URL}/${link.key}`, NO_FOLLOW)
  check(follow, {
    'redirect GET: 302': (r) => r.status === 302,
    'redirect GET: Location is the stored URL': (r) => r.headers.Location === url,
    'redirect GET: Cache-Control set': (r) => Boolean(r.headers['Cache-Control'])
  })
  const head = http.request('HEAD', `${BASE_URL}/${link.key}`, null, NO_FOLLOW)
  check(head, { 'redirect HEAD: 302 with Location': (r) => r.status === 302 && r.headers.Location === url })

  const unknown = http.get(`${BASE_URL}/zz${uniqueSuffix()}`, { ...NO_FOLLOW, ...expect(404) })
  check(unknown, { 'unknown key: 404 JSON SW_LINK_NOT_FOUND': (r) => r.status === 404 && isJson(r) && json(r).code === 'SW_LINK_NOT_FOUND' })
  const browser = http.get(`${BASE_URL}/zz${uniqueSuffix()}`, { headers: { accept: 'text/html' }, ...expect(404) })
  check(browser, { 'unknown key, browser: 404 HTML page': (r) => r.status === 404 && String(r.headers['Content-Type']).startsWith('text/html') })
  const notAKey = http.get(`${BASE_URL}/a.b`, expect(404))
  check(notAKey, { 'not a key: 404': (r) => r.status === 404 })

  const alias = `smoke-${uniqueSuffix()}`
  const aliased = createLink(url, { alias })
  check(aliased, { 'alias: 201 under the alias': (r) => r.status === 201 && json(r).key === alias })
  const taken = createLink('https://example.com/other', { alias }, expect(409))
  check(taken, { 'alias taken: 409 SW_ALIAS_TAKEN': (r) => r.status === 409 && json(r).code === 'SW_ALIAS_TAKEN' })
  // The schema refuses a scheme that is not http(s); the URL policy refuses what only parsing shows.
  const scheme = createLink('javascript:alert(1)', {}, expect(400))
  check(scheme, { 'bad scheme: 400 naming url': (r) => r.status === 400 && /^url /.test(String(json(r).message)) })
  const bad = createLink('https://exa mple.com/', {}, expect(400))
  check(bad, { 'bad url: 400 SW_INVALID_URL': (r) => r.status === 400 && json(r).code === 'SW_INVALID_URL' })
  const malformed = http.post(`${BASE_URL}/api/v1/links`, '{"url":', { headers: JSON_HEADERS, ...expect(400) })
  check(malformed, { 'malformed JSON: 400': (r) => r.status === 400 && isJson(r) })
  const text = http.post(`${BASE_URL}/api/v1/links`, 'https://example.com', { headers: { 'content-type': 'text/plain' }, ...expect(415) })
  check(text, { 'text body: 415': (r) => r.status === 415 })
  const missing = http.get(`${BASE_URL}/api/v1/links/zz${uniqueSuffix()}`, expect(404))
  check(missing, { 'metadata of an unknown key: 404': (r) => r.status === 404 })
  const probe = http.get(`${BASE_URL}/healthz`, expect(404))
  check(probe, { 'probes are not exposed through nginx: 404': (r) => r.status === 404 })

  // The GET above is counted, the HEAD is not: the count reaches the API within seconds
  // (redirect-service flushes every second, the key-worker folds every second).
  let clicks = -1
  for (let waited = 0; waited < 15 && clicks < 1; waited += 0.5) {
    sleep(0.5)
    clicks = json(http.get(`${BASE_URL}/api/v1/links/${link.key}`)).clicks
  }
  sleep(2) // a HEAD counted by mistake would show up by now as well
  clicks = json(http.get(`${BASE_URL}/api/v1/links/${link.key}`)).clicks
  check(clicks, { 'clicks: the GET is counted, the HEAD is not': (c) => c === 1 })

  // Where it came from: its dimensions are folded every fifth pass, so they follow within seconds.
  let byDevice = {}
  for (let waited = 0; waited < 15 && byDevice.clicks !== 1; waited += 0.5) {
    byDevice = json(http.get(`${BASE_URL}/api/v1/links/${link.key}/stats?by=device`))
    if (byDevice.clicks !== 1) sleep(0.5)
  }
  check(byDevice, {
    'stats by device: the GET, under one value, no bot': (s) => s.clicks === 1 && s.botClicks === 0 && Array.isArray(s.rows) &&
      s.rows.length === 1 && s.rows[0].clicks === 1
  })
  const referrers = json(http.get(`${BASE_URL}/api/v1/links/${link.key}/stats?by=referrer`))
  check(referrers, { 'stats by referrer: direct': (s) => s.clicks === 1 && s.rows.length === 1 && s.rows[0].value === 'direct' })
  const badBy = http.get(`${BASE_URL}/api/v1/links/${link.key}/stats?by=planet`, expect(400))
  check(badBy, { 'stats by an unknown dimension: 400': (r) => r.status === 400 && isJson(r) })
  const ownStats = http.get(`${BASE_URL}/api/v1/stats`, expect(401))
  check(ownStats, { 'your statistics without an API key: 401': (r) => r.status === 401 })
  const hook = http.post(`${BASE_URL}/api/v1/webhooks`, JSON.stringify({ url: 'https://example.com/hook', events: ['link.created'] }),
    { headers: JSON_HEADERS, ...expect(401) })
  check(hook, { 'a webhook without an API key: 401': (r) => r.status === 401 })
}
