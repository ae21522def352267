import dnsPacket from 'dns-packet'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDnsResolver } from '@shortwave/common/target-resolver'

// A real DNS server on loopback, so the resolver is tested over the wire without the internet.
const RECORDS: Record<string, { A?: string[], AAAA?: string[] }> = {
  'dual.test': { A: ['93.184.216.34', '10.0.0.7'], AAAA: ['2606:2800:220:1::1'] },
  'v6only.test': { AAAA: ['fd00::1'] }
}
const SILENT = 'silent.test'

let server: Socket
let address: string

beforeAll(async () => {
  server = createSocket('udp4')
  server.on('message', (message, peer) => {
    const query = dnsPacket.decode(message)
    const question = query.questions?.[0]
    if (!question || question.name === SILENT) return
    const record = RECORDS[question.name]
    const data = record?.[question.type as 'A' | 'AAAA'] ?? []
    const answer = dnsPacket.encode({
      type: 'response',
      id: query.id,
      // rcode 3 is NXDOMAIN: the name does not exist; a known name without this type is NOERROR and no answers.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (record ? 0 : 3),
      questions: [question],
      answers: data.map((value) => ({ type: question.type as 'A', name: question.name, ttl: 60, data: value }))
    })
    server.send(answer, peer.port, peer.address)
  })
  server.bind(0, '127.0.0.1')
  await once(server, 'listening')
  address = `127.0.0.1:${server.address().port}`
})

afterAll(() => {
  server?.close()
})

describe('the DNS resolver for RESOLVE_TARGETS', () => {
  const resolve = () => createDnsResolver({ timeoutMs: 200, servers: [address] })

  it('returns every A and AAAA address of a name', async () => {
    expect((await resolve()('dual.test')).sort()).toEqual(['10.0.0.7', '2606:2800:220:1::1', '93.184.216.34'])
  })

  it('returns the addresses of the one family a name has', async () => {
    expect(await resolve()('v6only.test')).toEqual(['fd00::1'])
  })

  it('returns no address for a name that does not exist', async () => {
    expect(await resolve()('nowhere.test')).toEqual([])
  })

  it('rejects when the server does not answer within the timeout', async () => {
    await expect(resolve()(SILENT)).rejects.toMatchObject({ code: 'ETIMEOUT' })
  })
})
