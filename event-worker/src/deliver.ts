import type { ResolveHost } from '@shortwave/common/target-resolver'
import type { UrlPolicy } from '@shortwave/common/url-policy'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'

// One POST to a webhook endpoint, made safe against the receiver and against DNS:
// - the URL is checked by the links' policy again now (invariant 8), its host name resolved, every
//   address checked, and the connection made to the checked address (`lookup` below), so a name
//   that now resolves elsewhere (rebinding) cannot send the request inside the network;
// - one timeout covers connecting, sending and the whole answer;
// - at most maxResponseBytes of the answer are read, then the connection is cut;
// - redirects are not followed (a 3xx is a failed attempt), nor is any connection reused.

export interface DeliveryRequest {
  url: string
  headers: Record<string, string>
  body: string
}

export interface DeliveryResult {
  /** A 2xx answer. */
  ok: boolean
  /** The target is not allowed (now): not retried. */
  refused: boolean
  statusCode: number | null
  error: string | null
  durationMs: number
}

export interface DelivererOptions {
  checkUrl: UrlPolicy
  resolveHost: ResolveHost
  timeoutMs: number
  maxResponseBytes: number
  now?: () => number
}

// An answer for a host is reused this long: the policy's check and the connection use one answer.
const RESOLVE_REUSE_MS = 5000

export function createDeliverer (opts: DelivererOptions) {
  const now = opts.now ?? (() => performance.now())
  const answers = new Map<string, { until: number, addresses: Promise<string[]> }>()

  /** DNS answers, shared by the policy check and the connection that follows it. */
  function resolve (host: string): Promise<string[]> {
    const known = answers.get(host)
    if (known !== undefined && known.until > Date.now()) return known.addresses
    const addresses = opts.resolveHost(host)
    answers.set(host, { until: Date.now() + RESOLVE_REUSE_MS, addresses })
    addresses.catch(() => answers.delete(host))
    if (answers.size > 10_000) answers.delete(answers.keys().next().value!)
    return addresses
  }

  /** The address to connect to, checked by the policy (which calls resolve for a name). */
  async function checkedAddress (url: URL): Promise<string> {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) !== 0) return host
    const [address] = await resolve(host.replace(/\.+$/, ''))
    if (address === undefined) throw new Error(`${host.slice(0, 64)} has no address`)
    return address
  }

  return async function deliver (request: DeliveryRequest): Promise<DeliveryResult> {
    const started = now()
    const took = (): number => Math.round(now() - started)
    let address: string
    try {
      await opts.checkUrl(request.url)
      address = await checkedAddress(new URL(request.url))
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode
      // A 4xx from the policy: the target is not allowed; a 503 (DNS down) is worth a retry.
      const refused = status !== undefined && status >= 400 && status < 500
      return { ok: false, refused, statusCode: null, error: (error as Error).message.slice(0, 500), durationMs: took() }
    }
    const answer = await post(request, address, opts)
    return { ...answer, refused: false, durationMs: took() }
  }
}

function post (request: DeliveryRequest, address: string, opts: DelivererOptions): Promise<Omit<DeliveryResult, 'refused' | 'durationMs'>> {
  const url = new URL(request.url)
  const family = isIP(address)
  // Always the checked address, whatever name the request carries.
  type AllCallback = (err: null, addresses: Array<{ address: string, family: number }>) => void
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) (callback as AllCallback)(null, [{ address, family }])
    else callback(null, address, family)
  }
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    let settled = false
    const finish = (result: Omit<DeliveryResult, 'refused' | 'durationMs'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resolve(result)
    }
    const req = client.request(url, {
      method: 'POST',
      agent: false,
      lookup,
      headers: { ...request.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)) }
    }, (res) => {
      const statusCode = res.statusCode ?? 0
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > opts.maxResponseBytes) finish(outcome(statusCode, `answer body over ${opts.maxResponseBytes} bytes; cut`))
      })
      res.on('end', () => finish(outcome(statusCode, null)))
      res.on('error', (error) => finish({ ok: false, statusCode, error: error.message }))
    })
    const timer = setTimeout(() => finish({ ok: false, statusCode: null, error: `no complete answer within ${opts.timeoutMs} ms` }), opts.timeoutMs)
    req.on('error', (error) => finish({ ok: false, statusCode: null, error: error.message.slice(0, 500) }))
    req.end(request.body)
  })
}

function outcome (statusCode: number, note: string | null): Omit<DeliveryResult, 'refused' | 'durationMs'> {
  if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode, error: note }
  if (statusCode >= 300 && statusCode < 400) return { ok: false, statusCode, error: 'the endpoint answered a redirect; redirects are not followed' }
  return { ok: false, statusCode, error: note ?? `the endpoint answered ${statusCode}` }
}

export type Deliver = ReturnType<typeof createDeliverer>
