import { countActiveLinks, createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ResolveHost } from '@shortwave/common/target-resolver'
import { createLink, poolSize, seedPool, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let resolving: FastifyInstance

// What the resolving app's DNS says; a name not listed has no address.
const dns: Record<string, string[] | Error> = {
  'public.example': ['93.184.216.34'],
  'rebind.example': ['93.184.216.34', '169.254.169.254'],
  'git.example': ['10.20.3.4'],
  'slow.example': Object.assign(new Error('queryA ETIMEOUT slow.example'), { code: 'ETIMEOUT' })
}
const resolveHost: ResolveHost = async (host) => {
  const answer = dns[host] ?? []
  if (answer instanceof Error) throw answer
  return answer
}

beforeAll(async () => {
  infra = await createTestInfra('cs_private', { ALLOWED_TARGET_NETWORKS: '10.20.0.0/16', ALLOWED_TARGET_HOSTS: 'corp.example' })
  await seedPool(infra, 40)
  app = await startApp(infra)
  resolving = await startApp(infra, { RESOLVE_TARGETS: 'true' }, { resolveHost })
})

afterAll(async () => {
  await resolving?.close()
  await app?.close()
  await infra?.close()
})

async function expectRefused (
  target: FastifyInstance,
  url: string,
  status: number,
  code: string,
  message: RegExp
): Promise<void> {
  const linksBefore = await countActiveLinks(infra.cassandra)
  const poolBefore = await poolSize(infra)
  const response = await createLink(target, { url })
  expect({ status: response.statusCode, body: response.json() })
    .toMatchObject({ status, body: { statusCode: status, code, message: expect.stringMatching(message) } })
  expect(await countActiveLinks(infra.cassandra)).toBe(linksBefore)
  expect(await poolSize(infra)).toBe(poolBefore)
}

describe('POST /api/v1/links with a private or metadata target', () => {
  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
    ['the metadata address in hex', 'http://0xa9fea9fe/', /cloud metadata/],
    ['a private address outside the allowed network', 'http://10.0.0.1/', /10\.0\.0\.1 is a private network address/],
    ['a unique-local IPv6 address', 'http://[fd00::1]/', /unique-local/],
    ['an IPv4-mapped private address', 'http://[::ffff:192.168.1.1]/', /private network/],
    ['a wildcard DNS name for loopback', 'https://127.0.0.1.nip.io/', /loopback/]
  ])('answers 400 SW_URL_PRIVATE_TARGET to %s and stores nothing', async (_name, url, message) => {
    await expectRefused(app, url, 400, 'SW_URL_PRIVATE_TARGET', message)
  })

  it('says in the answer which settings would allow the target', async () => {
    const response = await createLink(app, { url: 'http://192.168.1.1/' })
    expect(response.json().message).toMatch(/ALLOWED_TARGET_NETWORKS.*ALLOWED_TARGET_HOSTS/)
  })

  it('refuses the same targets inside a batch, item by item', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/v1/links/batch', payload: { links: [{ url: 'http://10.0.0.1/' }, { url: 'https://example.com/ok' }] } })
    const { results } = response.json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([400, 201])
    expect(results[0].error).toMatchObject({ code: 'SW_URL_PRIVATE_TARGET' })
  })

  it.each([
    ['an address in ALLOWED_TARGET_NETWORKS', 'http://10.20.1.2/wiki'],
    ['a name in ALLOWED_TARGET_HOSTS', 'https://go.corp.example/handbook']
  ])('creates a link to %s', async (_name, url) => {
    const response = await createLink(app, { url })
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({ url })
  })
})

describe('POST /api/v1/links with RESOLVE_TARGETS on', () => {
  it('creates a link to a name that resolves to public addresses only', async () => {
    expect((await createLink(resolving, { url: 'https://public.example/x' })).statusCode).toBe(201)
  })

  it('creates a link to a name that resolves into an allowed network', async () => {
    expect((await createLink(resolving, { url: 'https://git.example/repo' })).statusCode).toBe(201)
  })

  it('answers 400 SW_URL_PRIVATE_TARGET when any address is private, and stores nothing', async () => {
    await expectRefused(resolving, 'https://rebind.example/', 400, 'SW_URL_PRIVATE_TARGET', /rebind\.example resolves to 169\.254\.169\.254/)
  })

  it('answers 400 SW_URL_UNRESOLVABLE to a name without an address', async () => {
    await expectRefused(resolving, 'https://nowhere.example/', 400, 'SW_URL_UNRESOLVABLE', /has no address in DNS/)
  })

  it('answers 503 with Retry-After when DNS does not answer', async () => {
    const response = await createLink(resolving, { url: 'https://slow.example/' })
    expect(response.statusCode).toBe(503)
    expect(response.headers['retry-after']).toBe('2')
    expect(response.json()).toMatchObject({ code: 'SW_DEPENDENCY_UNAVAILABLE', message: 'DNS is unavailable; retry shortly' })
  })
})
