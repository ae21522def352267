import { createLinkRepository, type LinkRepository } from '@shortwave/common/link-repository'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import QRCode from 'qrcode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, newApiKey, startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let repo: LinkRepository

beforeAll(async () => {
  infra = await createTestInfra('cs_views')
  app = await startApp(infra)
  repo = createLinkRepository(infra.cassandra)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

const get = (url: string) => app.inject({ method: 'GET', url })

describe('GET /api/v1/links/{key}/stats', () => {
  it('sums the daily counters, people and bots apart, days oldest first', async () => {
    await createLink(app, { url: 'https://example.com/counted', alias: 'counted' })
    await repo.addClicks('counted', '2026-01-02', 5, 1)
    await repo.addClicks('counted', '2025-12-31', 2, 0)
    await repo.addClicks('counted', '2026-01-01', 0, 4)
    await repo.addClicks('counted', '2026-01-02', 1, 0)

    const response = await get('/api/v1/links/counted/stats')
    expect(response.statusCode).toBe(200)
    const today = new Date().toISOString().slice(0, 10)
    expect(response.json()).toEqual({
      key: 'counted',
      // Every day counted by default, from before the link was created here too (an import's).
      from: '2025-12-31',
      to: today,
      by: 'day',
      clicks: 8,
      botClicks: 5,
      uniqueVisitors: 0,
      rows: [
        { value: '2025-12-31', clicks: 2, uniqueVisitors: 0 },
        { value: '2026-01-02', clicks: 6, uniqueVisitors: 0 }
      ],
      daily: [
        { date: '2025-12-31', clicks: 2, botClicks: 0 },
        { date: '2026-01-01', clicks: 0, botClicks: 4 },
        { date: '2026-01-02', clicks: 6, botClicks: 1 }
      ]
    })
    expect((await get('/api/v1/links/counted')).json().clicks).toBe(8)
  })

  it('answers zeros and no days for a link nobody followed yet', async () => {
    const { key } = (await createLink(app, { url: 'https://example.com/quiet' })).json()
    const today = new Date().toISOString().slice(0, 10)
    expect((await get(`/api/v1/links/${key}/stats`)).json()).toEqual({
      key, from: today, to: today, by: 'day', clicks: 0, botClicks: 0, uniqueVisitors: 0, rows: [], daily: []
    })
  })

  it('answers 404 for unknown and deleted links', async () => {
    expect((await get('/api/v1/links/never-made/stats')).json()).toMatchObject({ statusCode: 404, code: 'SW_LINK_NOT_FOUND' })
    const owner = await newApiKey(infra)
    const { key } = (await createLink(app, { url: 'https://example.com/gone' }, owner.auth)).json()
    await repo.addClicks(key, '2026-01-01', 3, 0)
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers: owner.auth })).statusCode).toBe(204)
    expect((await get(`/api/v1/links/${key}/stats`)).statusCode).toBe(404)
  })
})

describe('GET /api/v1/links/{key}/qr', () => {
  it('answers an SVG QR code of the short URL by default', async () => {
    await createLink(app, { url: 'https://example.com/scan-me', alias: 'scan-me' })
    const response = await get('/api/v1/links/scan-me/qr')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('image/svg+xml')
    expect(response.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    // The same modules as a QR code of the short URL: it encodes that URL and nothing else.
    const expected = await QRCode.toString('http://localhost:8080/scan-me', { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
    expect(response.body).toBe(expected)
    const other = await QRCode.toString('https://example.com/scan-me', { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
    expect(response.body).not.toBe(other)
  })

  it('answers a PNG with ?format=png', async () => {
    const response = await get('/api/v1/links/scan-me/qr?format=png')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('image/png')
    expect(response.rawPayload.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    // IHDR: 512 × 512 pixels.
    expect(response.rawPayload.readUInt32BE(16)).toBe(512)
    expect(response.rawPayload.readUInt32BE(20)).toBe(512)
  })

  it('refuses a bad API key like every API route, though none is needed', async () => {
    const headers = { authorization: `Bearer sw_${'x'.repeat(43)}` }
    expect((await app.inject({ method: 'GET', url: '/api/v1/links/scan-me/qr', headers })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/api/v1/links/scan-me/stats', headers })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/api/v1/links/scan-me', headers })).statusCode).toBe(401)
  })

  it('answers 404 for an unknown key and 400 for an unknown format', async () => {
    expect((await get('/api/v1/links/never-made/qr')).statusCode).toBe(404)
    const gif = await get('/api/v1/links/scan-me/qr?format=gif')
    expect(gif.statusCode).toBe(400)
    expect(gif.json().message).toBe('format must be one of svg, png')
  })
})
