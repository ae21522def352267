// The hostile-input suites talk to the real services through a real nginx on the shared config
// (tests/nginx/edge.ts), as an attacker would: the edge is the only public surface.
import { startEdge, testEnv, type Edge, type EnvOptions } from '../nginx/edge.ts'
import type { Stack } from '../helpers/stack.ts'

const hostPort = (url: string): string => new URL(url).host

/** A real nginx in front of an in-process stack (tests/helpers/stack.ts). */
export function edgeInFront (stack: Stack, opts: Partial<Pick<EnvOptions, 'apiRate' | 'redirectRate'>> = {}): Promise<Edge> {
  return startEdge((port) => testEnv({
    port,
    create: [hostPort(stack.createUrl)],
    redirect: stack.redirectUrls.map(hostPort),
    ...opts
  }))
}

export interface Answer {
  status: number
  headers: Headers
  body: string
  json: () => Record<string, unknown>
}

function answer (response: Response, text: string): Answer {
  const json = (): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>
  return { status: response.status, headers: response.headers, body: text, json }
}

/** POST /api/v1/links with a JSON body; `from` picks the client's source address (any 127.x.y.z). */
export async function create (baseUrl: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${baseUrl}/api/v1/links`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return answer(response, await response.text())
}

/** GET /{key} without following the redirect. */
export async function follow (baseUrl: string, path: string): Promise<Answer> {
  const response = await fetch(`${baseUrl}/${path}`, { redirect: 'manual' })
  return answer(response, await response.text())
}
