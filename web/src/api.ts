// Every call the page makes to the API: JSON in and out, the API key (if signed in) as a Bearer
// header and nowhere else, and one error type carrying what the API said.
import { apiKey } from './session.ts'

export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined
  readonly retryAfter: number

  constructor (status: number, message: string, code?: string, retryAfter = 0) {
    super(message)
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

interface ErrorBody { message?: string, code?: string }

/** Words a person can act on, for an answer that is not a success. */
export function messageOf (status: number, body: ErrorBody, retryAfter: number): string {
  const wait = retryAfter > 0 && (retryAfter < 90 ? `in ${retryAfter} second${retryAfter > 1 ? 's' : ''}` : `in ${Math.ceil(retryAfter / 60)} minutes`)
  if (status === 413) return 'That is too long.'
  if (status === 415) return 'The server did not understand the request; reload the page and retry.'
  if (status === 429) return `Too many requests; try again ${wait || 'in a minute'}.`
  if (status >= 500) return `Shortwave is unavailable for a moment; try again ${wait || 'shortly'}.`
  return body.message ?? `That did not work (HTTP ${status}).`
}

export interface CallOptions {
  method?: string
  body?: unknown
  /** A raw body (an import file) with its content type. */
  raw?: { data: Blob | string, type: string }
  headers?: Record<string, string>
  /** Sent without the API key even when signed in (the anonymous quick form). */
  anonymous?: boolean
}

export interface Answer<T> { data: T, headers: Headers, status: number }

/** Calls the API; throws ApiError for any answer but a 2xx, or when the server cannot be reached. */
export async function call<T> (path: string, opts: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
  const key = opts.anonymous === true ? null : apiKey()
  if (key !== null) headers['authorization'] = `Bearer ${key}`
  let body: BodyInit | undefined
  if (opts.raw !== undefined) {
    headers['content-type'] = opts.raw.type
    body = opts.raw.data
  } else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let response: Response
  try {
    response = await fetch(path, { method: opts.method ?? 'GET', headers, body, cache: 'no-store' })
  } catch {
    throw new ApiError(0, 'Shortwave could not be reached; check your connection and try again.')
  }
  const type = response.headers.get('content-type') ?? ''
  const data: unknown = response.status === 204
    ? null
    : type.includes('json') ? await response.json().catch(() => ({})) : await response.blob()
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('retry-after')) || 0
    const errorBody = (typeof data === 'object' && data !== null && !(data instanceof Blob) ? data : {}) as ErrorBody
    throw new ApiError(response.status, messageOf(response.status, errorBody, retryAfter), errorBody.code, retryAfter)
  }
  return { data: data as T, headers: response.headers, status: response.status }
}

export async function get<T> (path: string): Promise<T> {
  return (await call<T>(path)).data
}

/** A query string of the defined, non-empty values. */
export function query (params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value))
  }
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}

/** A link's API path; `domain` is the host it is served on (every host is accepted, the default one too). */
export const linkPath = (key: string, domain: string, suffix = '', params: Record<string, string> = {}): string =>
  `/api/v1/links/${encodeURIComponent(key)}${suffix}${query({ domain, ...params })}`
