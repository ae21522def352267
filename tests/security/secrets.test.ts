// API key secrets: stored only as a hash, and never written to any log. The services run as real
// processes with every log switch on (LOG_LEVEL=trace, request logging), behind a real nginx;
// every way a client can send a secret is tried, then every log line and every stored row is
// searched for it.
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashSecret } from '../../create-service/src/api-keys.ts'
import { runApiKeyCommand } from '../../create-service/src/cli/apikey.ts'
import { freePort, startEdge, testEnv, type Edge } from '../nginx/edge.ts'
import { service, type Managed } from '../faults/harness/processes.ts'

let infra: TestInfra
let edge: Edge
let services: Managed[] = []
const logDir = mkdtempSync(join(tmpdir(), 'sw-secrets-'))
const secrets: string[] = []
const keys: Array<{ id: string, secret: string }> = []

async function apiKey (name: string, role: 'user' | 'admin'): Promise<{ id: string, secret: string }> {
  let out = ''
  const code = await runApiKeyCommand(['create', '--name', name, '--role', role, '--json'], infra.env, { out: (text) => { out += text }, err: () => {} })
  expect(code).toBe(0)
  const { id, secret } = JSON.parse(out) as { id: string, secret: string }
  secrets.push(secret)
  keys.push({ id, secret })
  return { id, secret }
}

beforeAll(async () => {
  infra = await createTestInfra('sec_secrets')
  const env = { ...infra.env, LOG_LEVEL: 'trace', LOG_REQUESTS: 'true', API_KEY_CACHE_TTL_MS: '0', PUBLIC_BASE_URL: 'http://sw.test' }
  const [createPort, redirectPort] = [await freePort(), await freePort()]
  services = [
    service({ name: 'create-service', process: 'create-service-1', port: createPort, env, logDir }),
    service({ name: 'redirect-service', process: 'redirect-service-1', port: redirectPort, env, logDir })
  ]
  await Promise.all(services.map((s) => s.start()))
  edge = await startEdge((port) => testEnv({ port, create: [`127.0.0.1:${createPort}`], redirect: [`127.0.0.1:${redirectPort}`] }))
}, 120_000)

afterAll(async () => {
  await edge?.close()
  await Promise.all(services.map((s) => s.stop()))
  await infra?.close()
  rmSync(logDir, { recursive: true, force: true })
})

async function call (path: string, init: RequestInit = {}): Promise<{ status: number, body: string }> {
  const response = await fetch(`${edge.url}${path}`, { redirect: 'manual', ...init })
  return { status: response.status, body: await response.text() }
}

const json = (secret: string, extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', authorization: `Bearer ${secret}`, ...extra })

describe('API key secrets', () => {
  it('are never written to a log, whatever the request does with them', async () => {
    const admin = await apiKey('security-admin', 'admin')
    const user = await apiKey('security-user', 'user')
    const revoked = await apiKey('security-revoked', 'user')

    const made = await call('/api/v1/links', { method: 'POST', headers: json(user.secret, { 'idempotency-key': 'secrets-1' }), body: JSON.stringify({ url: 'https://example.com/owned' }) })
    expect(made.status).toBe(201)
    const key = (JSON.parse(made.body) as { key: string }).key
    const answers = [
      await call('/api/v1/links', { method: 'POST', headers: json(user.secret, { 'idempotency-key': 'secrets-1' }), body: JSON.stringify({ url: 'https://example.com/owned' }) }),
      await call('/api/v1/links', { method: 'POST', headers: json(user.secret), body: '{"url": not json' }),
      await call('/api/v1/links', { method: 'POST', headers: json(user.secret), body: JSON.stringify({ url: 'javascript:alert(1)' }) }),
      await call('/api/v1/links/batch', { method: 'POST', headers: json(user.secret), body: JSON.stringify({ links: [{ url: 'https://example.com/b1' }, { url: 'bad' }] }) }),
      await call('/api/v1/links?limit=5', { headers: { authorization: `bearer ${user.secret}` } }),
      await call(`/api/v1/links/${key}`, { headers: { authorization: `Bearer ${user.secret}` } }),
      await call(`/api/v1/links/${key}/stats`, { headers: { authorization: `Bearer ${user.secret}` } }),
      await call(`/${key}`, { headers: { authorization: `Bearer ${user.secret}` } }),
      await call(`/api/v1/links/${key}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.secret}` } })
    ]
    expect(answers.map((a) => a.status)).toEqual([201, 400, 400, 200, 200, 200, 200, 302, 204])

    // Refused ones: a key one character off, other schemes, no scheme, a revoked key.
    expect(await runApiKeyCommand(['revoke', revoked.id], infra.env, { out: () => {}, err: () => {} })).toBe(0)
    const refused = [
      await call('/api/v1/links', { method: 'POST', headers: json(`${user.secret.slice(0, -1)}${user.secret.endsWith('A') ? 'B' : 'A'}`), body: JSON.stringify({ url: 'https://example.com/x' }) }),
      await call('/api/v1/links', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`x:${user.secret}`).toString('base64')}` }, body: '{}' }),
      await call('/api/v1/links', { method: 'POST', headers: { 'content-type': 'application/json', authorization: user.secret }, body: '{}' }),
      await call('/api/v1/links?limit=1', { headers: { authorization: `Bearer ${revoked.secret}` } }),
      await call('/api/v1/links?limit=1', { headers: { authorization: `Bearer ${user.secret}${user.secret}` } })
    ]
    expect(refused.map((a) => a.status)).toEqual([401, 401, 401, 401, 401])
    for (const answer of [...answers, ...refused]) {
      for (const secret of secrets) expect(answer.body).not.toContain(secret)
    }

    // Let pino and nginx flush, then read everything they wrote.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const logs = readdirSync(logDir).map((file) => ({ file, text: readFileSync(join(logDir, file), 'utf8') }))
    logs.push({ file: 'nginx access.log', text: JSON.stringify(await edge.accessLog()) })
    // The logs are there and verbose: they name the key by its id, and log every request.
    expect(logs.find((l) => l.file === 'create-service.log')!.text).toContain(user.id)
    expect(logs.find((l) => l.file === 'redirect-service.log')!.text).toContain('incoming request')
    for (const { file, text } of logs) {
      for (const secret of secrets) {
        // Whole, or the random part alone (e.g. with the prefix cut off), or base64-encoded.
        for (const form of [secret, secret.slice(3), Buffer.from(`x:${secret}`).toString('base64')]) {
          expect({ file, leaked: text.includes(form) }).toEqual({ file, leaked: false })
        }
      }
    }
  })

  it('are stored only as their hash', async () => {
    const tables = await infra.cassandra.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [infra.keyspace], { prepare: true })
    let rows = 0
    let hashes = ''
    for (const { table_name: table } of tables.rows) {
      const result = await infra.cassandra.execute(`SELECT * FROM ${infra.keyspace}.${String(table)}`, [], { fetchSize: 5000 })
      for await (const row of result) {
        rows++
        const text = JSON.stringify(row)
        if (table === 'api_keys') hashes += text
        for (const secret of secrets) {
          const leaked = text.includes(secret) || text.includes(secret.slice(3))
          expect({ table, leaked }).toEqual({ table, leaked: false })
        }
      }
    }
    expect(rows).toBeGreaterThan(0)
    for (const { secret } of keys) expect(hashes).toContain(hashSecret(secret))
  })
})
