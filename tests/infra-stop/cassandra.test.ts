import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, redirectOf, startStack, waitFor, type Stack } from '../helpers/stack.ts'

// Stops the shared Cassandra node for real, so this file runs alone, after the parallel suite.
const infraScript = new URL('../../scripts/infra.sh', import.meta.url).pathname
const cassandra = (action: 'up' | 'down') => execFileSync('bash', [infraScript, action, 'cassandra'], { stdio: 'inherit' })

describe('when Cassandra is down', () => {
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('infra_stop')
    stack = await startStack(infra, { env: { LOCAL_CACHE_TTL_MS: '50', CASSANDRA_TIMEOUT_MS: '1000' } })
  })

  afterAll(async () => {
    cassandra('up')
    await stack?.close()
    await infra?.close()
  }, 240_000)

  it('answers creates with 503 + Retry-After, serves cached redirects, and recovers without a restart', async () => {
    const cached = await createLink(stack.createUrl, { url: 'https://example.com/cached' })
    expect(cached.status).toBe(201)
    const key = cached.body['key'] as string

    cassandra('down')

    const refused = await fetch(`${stack.createUrl}/api/v1/links`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/refused' })
    })
    expect(refused.status).toBe(503)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await refused.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' })

    // Created through the API, so written through to Redis: served from there while Cassandra is gone.
    for (let i = 0; i < 5; i++) {
      const redirect = await redirectOf(stack.redirectUrl, key)
      expect(redirect.status).toBe(302)
      expect(redirect.location?.toString()).toBe('https://example.com/cached')
    }

    cassandra('up')
    const recovered = await waitFor('creation to work again', async () => {
      const res = await createLink(stack.createUrl, { url: 'https://example.com/after' })
      return res.status === 201 ? res : undefined
    }, 120_000)
    expect((await redirectOf(stack.redirectUrl, recovered.body['key'] as string)).location?.toString()).toBe('https://example.com/after')
  }, 240_000)
})
