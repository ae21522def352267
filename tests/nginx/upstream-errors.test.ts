import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, send, startEdge, startStandIn, testEnv, type Edge, type Response, type StandIn } from './edge.ts'

function expectGatewayError (response: Response, status: number, error: string, requestId = /^[0-9a-f]{32}$/): void {
  expect(response.status).toBe(status)
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
  const body = JSON.parse(response.body)
  expect(body).toMatchObject({ statusCode: status, error })
  expect(body.message).toMatch(/retry shortly$/)
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'statusCode'])
  expect(response.headers['retry-after']).toBe('5')
  expect(response.headers['x-request-id']).toMatch(requestId)
}

describe('nginx edge: dead upstreams', () => {
  let edge: Edge

  beforeAll(async () => {
    // Nothing listens there: every connection is refused.
    const dead = `127.0.0.1:${await freePort()}`
    edge = await startEdge((port) => testEnv({ port, create: [dead], redirect: [dead] }))
  })

  afterAll(async () => {
    await edge?.close()
  })

  it('answers 502 JSON with Retry-After when create-service is down', async () => {
    const response = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expectGatewayError(response, 502, 'Bad Gateway')
  })

  it('answers 502 JSON when redirect-service is down', async () => {
    expectGatewayError(await send(`${edge.url}/Xk3p9Qa`), 502, 'Bad Gateway')
  })

  it('still serves the page', async () => {
    expect((await send(`${edge.url}/`)).status).toBe(200)
  })
})

describe('nginx edge: failing replicas', () => {
  let creates: StandIn[]
  let redirects: StandIn[]
  let edge: Edge

  const receivedBy = (standIns: StandIn[], id: string) =>
    standIns.map((s) => s.received.filter((r) => r.headers['x-request-id'] === id).length)

  beforeAll(async () => {
    creates = await Promise.all([startStandIn('create-1'), startStandIn('create-2')])
    redirects = await Promise.all([startStandIn('redirect-1'), startStandIn('redirect-2')])
    // max_fails=0: no replica is set aside between tests, each one sees the requests it gets.
    edge = await startEdge((port) => testEnv({
      port,
      create: creates.map((s) => s.address),
      redirect: redirects.map((s) => s.address),
      serverParams: 'max_fails=0'
    }))
  })

  afterAll(async () => {
    await edge?.close()
    for (const standIn of [...creates, ...redirects]) await standIn.close()
  })

  it('retries a redirect that failed on one replica on the other one', async () => {
    const id = randomBytes(16).toString('hex')
    const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { 'x-request-id': id, 'x-stand-in': 'drop' } })
    expectGatewayError(response, 502, 'Bad Gateway', new RegExp(`^${id}$`))
    expect(receivedBy(redirects, id)).toEqual([1, 1])
  })

  it('never sends a POST to a second replica once one has received it', async () => {
    const id = randomBytes(16).toString('hex')
    const response = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: { 'x-request-id': id, 'x-stand-in': 'drop' }, body: '{}' })
    expectGatewayError(response, 502, 'Bad Gateway', new RegExp(`^${id}$`))
    expect(receivedBy(creates, id).reduce((a, b) => a + b)).toBe(1)
  })

  it('answers 504 JSON when create-service never answers (after the 10 s read timeout), without retrying the POST', async () => {
    const id = randomBytes(16).toString('hex')
    const response = await send(`${edge.url}/api/v1/links`, { method: 'POST', headers: { 'x-request-id': id, 'x-stand-in': 'hang' }, body: '{}' })
    expectGatewayError(response, 504, 'Gateway Timeout', new RegExp(`^${id}$`))
    expect(receivedBy(creates, id).reduce((a, b) => a + b)).toBe(1)
  })

  it('answers 504 JSON when no redirect replica answers in time (5 s each)', async () => {
    const id = randomBytes(16).toString('hex')
    const response = await send(`${edge.url}/Xk3p9Qa`, { headers: { 'x-request-id': id, 'x-stand-in': 'hang' } })
    expectGatewayError(response, 504, 'Gateway Timeout', new RegExp(`^${id}$`))
    expect(receivedBy(redirects, id)).toEqual([1, 1])
  })
})
