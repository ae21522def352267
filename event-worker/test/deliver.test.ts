import { createUrlPolicy } from '@shortwave/common/url-policy'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answers, startReceiver, type Receiver } from '../../tests/helpers/webhook-receiver.ts'
import { createDeliverer } from '../src/deliver.ts'

// One delivery attempt against a real receiver on loopback: the policy is applied now, the
// connection goes to the address that was checked, and a hostile answer costs a bounded amount.

let receiver: Receiver
beforeAll(async () => { receiver = await startReceiver() })
afterAll(async () => { await receiver?.close() })

/** A deliverer whose DNS answers from `dns`; loopback allowed when `allowLoopback`. */
function deliverer (dns: Record<string, string[]>, allowLoopback = true, timeoutMs = 5000) {
  const resolveHost = async (host: string): Promise<string[]> => dns[host] ?? []
  const checkUrl = createUrlPolicy({ publicBaseUrl: 'http://sw.test', allowedNetworks: allowLoopback ? ['127.0.0.0/8'] : [], resolveHost })
  return createDeliverer({ checkUrl, resolveHost, timeoutMs, maxResponseBytes: 65_536 })
}

const send = (url: string) => ({ url, headers: { 'webhook-id': 'msg_test' }, body: '{"type":"link.created"}' })
const port = (): string => new URL(receiver.url('/')).port

describe('a delivery attempt', () => {
  it('connects to the address the name was checked to have, with the name in the Host header', async () => {
    const result = await deliverer({ 'hooks.example.com': ['127.0.0.1'] })(send(`http://hooks.example.com:${port()}/pinned`))
    expect(result).toMatchObject({ ok: true, statusCode: 200, refused: false })
    const [request] = receiver.at('/pinned')
    expect(request!.headers['host']).toBe(`hooks.example.com:${port()}`)
    expect(request!.headers['webhook-id']).toBe('msg_test')
    expect(request!.body).toBe('{"type":"link.created"}')
  })

  it('refuses a name that now resolves to a private address, without connecting (DNS rebinding)', async () => {
    const result = await deliverer({ 'hooks.example.com': ['10.0.0.5'] })(send(`http://hooks.example.com:${port()}/rebound`))
    expect(result).toMatchObject({ ok: false, refused: true, statusCode: null })
    expect(result.error).toMatch(/10\.0\.0\.5.*private/)
    expect(receiver.at('/rebound')).toHaveLength(0)
  })

  it('refuses a loopback target the operator does not allow', async () => {
    const result = await deliverer({}, false)(send(receiver.url('/not-allowed')))
    expect(result).toMatchObject({ ok: false, refused: true })
    expect(receiver.at('/not-allowed')).toHaveLength(0)
  })

  it('counts a redirect as a failure and does not follow it', async () => {
    receiver.on('/moved', answers.redirect(receiver.url('/target')))
    const result = await deliverer({})(send(receiver.url('/moved')))
    expect(result).toMatchObject({ ok: false, refused: false, statusCode: 302 })
    expect(receiver.at('/target')).toHaveLength(0)
  })

  it('reads at most 64 KiB of a 10 MB answer, then cuts the connection', async () => {
    receiver.on('/huge', answers.huge(10 * 1024 * 1024))
    const result = await deliverer({})(send(receiver.url('/huge')))
    expect(result).toMatchObject({ ok: true, statusCode: 200, error: 'answer body over 65536 bytes; cut' })
  })

  it('gives up on a receiver that never answers after the timeout', async () => {
    receiver.on('/hang', answers.hang())
    const result = await deliverer({}, true, 300)(send(receiver.url('/hang')))
    expect(result).toMatchObject({ ok: false, refused: false, statusCode: null, error: 'no complete answer within 300 ms' })
  })

  it('retries a 5xx and a refused connection (not refused by policy)', async () => {
    receiver.on('/broken', answers.status(503))
    expect(await deliverer({})(send(receiver.url('/broken')))).toMatchObject({ ok: false, refused: false, statusCode: 503 })
    const closed = await deliverer({})(send('http://127.0.0.1:1/nobody'))
    expect(closed).toMatchObject({ ok: false, refused: false, statusCode: null })
    expect(closed.error).toMatch(/ECONNREFUSED/)
  })
})
