import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, redirectOf, startStack, type Stack } from './helpers/stack.ts'

describe('one alias, many writers', () => {
  let infra: TestInfra
  let stack: Stack

  beforeAll(async () => {
    infra = await createTestInfra('e2e_alias')
    stack = await startStack(infra)
  })

  afterAll(async () => {
    await stack?.close()
    await infra?.close()
  })

  it('answers exactly one 201 and nineteen 409 for twenty concurrent creates, and redirects to the winner', async () => {
    const alias = `race-${Date.now()}`
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      createLink(stack.createUrl, { url: `https://example.org/writer/${i}`, alias })))
    const winners = results.filter((r) => r.status === 201)
    expect(winners).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(19)
    for (const loser of results.filter((r) => r.status === 409)) expect(loser.body['message']).toContain(alias)

    const redirect = await redirectOf(stack.redirectUrl, alias)
    expect(redirect.status).toBe(302)
    expect(redirect.location?.toString('utf8')).toBe(winners[0]!.body['url'])
  })

  it('never lets an alias take a key that already holds a generated link', async () => {
    const first = await createLink(stack.createUrl, { url: 'https://example.org/generated' })
    expect(first.status).toBe(201)
    const clash = await createLink(stack.createUrl, { url: 'https://example.org/thief', alias: first.body['key'] })
    expect(clash.status).toBe(409)
    const redirect = await redirectOf(stack.redirectUrl, first.body['key'] as string)
    expect(redirect.location?.toString('utf8')).toBe('https://example.org/generated')
  })
})
