import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { createLink, inParallel, startStack, startWorker, waitFor, type Stack } from './helpers/stack.ts'

// Clicks travel redirect-service → Redis → key-worker → Cassandra → GET …/stats; they show up
// within 10 seconds, and a key-worker restart in the middle loses none and counts none twice.
describe('click statistics through the whole stack', () => {
  let infra: TestInfra
  let stack: Stack
  const extraWorkers: FastifyInstance[] = []
  const env = { CLICK_FLUSH_INTERVAL_MS: '200', CLICK_FOLD_INTERVAL_MS: '200' }

  beforeAll(async () => {
    infra = await createTestInfra('e2e_stats')
    stack = await startStack(infra, { env })
  })

  afterAll(async () => {
    for (const worker of extraWorkers) await worker.close()
    await stack?.close()
    await infra?.close()
  })

  async function follow (key: string, init: { method?: string, userAgent?: string } = {}): Promise<number> {
    const response = await fetch(`${stack.redirectUrl}/${key}`, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: init.userAgent ? { 'user-agent': init.userAgent } : {}
    })
    await response.arrayBuffer()
    return response.status
  }

  async function stats (
    key: string
  ): Promise<{ clicks: number, botClicks: number, daily: Array<{ date: string, clicks: number, botClicks: number }> }> {
    const response = await fetch(`${stack.createUrl}/api/v1/links/${key}/stats`)
    expect(response.status).toBe(200)
    return await response.json() as never
  }

  it('shows redirects within 10 s: people as clicks, bots apart, HEAD not at all', async () => {
    const key = (await createLink(stack.createUrl, { url: 'https://example.com/counted' })).body['key'] as string
    for (let i = 0; i < 7; i++) expect(await follow(key)).toBe(302)
    for (let i = 0; i < 2; i++) expect(await follow(key, { method: 'HEAD' })).toBe(302)
    for (let i = 0; i < 3; i++) expect(await follow(key, { userAgent: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' })).toBe(302)

    const counted = await waitFor('the clicks to reach the stats', async () => {
      const s = await stats(key)
      return s.clicks === 7 && s.botClicks === 3 ? s : undefined
    }, 10_000)
    const today = new Date().toISOString().slice(0, 10)
    expect(counted.daily).toEqual([{ date: today, clicks: 7, botClicks: 3 }])
  })

  it('loses and double-counts nothing when the key-worker is replaced while clicks stream in', async () => {
    const key = (await createLink(stack.createUrl, { url: 'https://example.com/restart' })).body['key'] as string
    const original = stack.apps[0]!
    const foldedBefore = await folded(original)
    const send = (count: number) => inParallel(Array.from({
      length: count
    }), 8, async () => { expect(await follow(key)).toBe(302) })

    await send(300)
    // The first worker has folded some of them…
    await waitFor('the first worker to fold clicks', async () => (await stats(key)).clicks > 0, 10_000)
    // …and stops (folding what it holds, as on SIGTERM) while more clicks arrive; another takes over.
    const streaming = send(300)
    stack.apps.splice(stack.apps.indexOf(original), 1)
    await original.close()
    extraWorkers.push(await startWorker(infra, 'test-worker-replacement', env))
    await streaming
    await send(100)

    const total = 700
    await waitFor('every click to reach the stats', async () => (await stats(key)).clicks >= total, 10_000)
    // Several more fold passes later, still exactly the number sent.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await stats(key)).toMatchObject({ clicks: total, botClicks: 0 })
    // Both workers did part of the folding.
    expect(await folded(original)).toBeGreaterThan(foldedBefore)
    expect(await folded(extraWorkers[0]!)).toBeGreaterThan(0)
  })

  async function folded (worker: FastifyInstance): Promise<number> {
    const { values } = await worker.metrics.getSingleMetric('shortwave_clicks_folded_total')!.get()
    return values.reduce((sum, v) => sum + v.value, 0)
  }
})
