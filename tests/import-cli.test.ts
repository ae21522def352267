// `npm run import` as an operator runs it: the CLI streams a file through a real nginx (the shared
// edge configuration) to create-service on the real Cassandra and Redis, polls the job, and prints
// its summary and the failed rows. A re-run creates nothing new. The imported links are then found
// by the list through the same edge, and redirect.
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKeyRepository } from '../create-service/src/api-keys.ts'
import { EXIT, main as importCli } from '../create-service/src/cli/import.ts'
import { startStack, type Stack } from './helpers/stack.ts'
import { send, startEdge, testEnv, type Edge } from './nginx/edge.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures', 'import')

let infra: TestInfra
let stack: Stack
let edge: Edge
let secret: string

beforeAll(async () => {
  infra = await createTestInfra('import_cli')
  stack = await startStack(infra)
  const host = (url: string) => new URL(url).host
  edge = await startEdge((port) => testEnv({
    port, create: [host(stack.createUrl)], redirect: stack.redirectUrls.map(host)
  }))
  secret = (await createApiKeyRepository(infra.cassandra).create('import cli test', 'user')).secret
})

afterAll(async () => {
  await edge?.close()
  await stack?.close()
  await infra?.close()
})

/** An output stream that is no terminal (the CLI then prints a line every few seconds, no bar). */
const collector = (write: (chunk: string) => void) =>
  ({ isTTY: false, write: (chunk: string) => { write(chunk); return true } }) as unknown as NodeJS.WriteStream

/** Runs the CLI as `npm run import -- FILE --api EDGE --key KEY` does: its exit status and output. */
async function runImport (file: string, ...extra: string[]): Promise<{ code: number, text: string }> {
  let text = ''
  const out = collector((chunk) => { text += chunk })
  const code = await importCli([join(FIXTURES, file), '--api', edge.url, '--key', secret, ...extra], out)
  return { code, text }
}

describe('npm run import through nginx', () => {
  it('imports a file with bad rows: a summary, each failed row by line and field, exit status 1', async () => {
    const first = await runImport('bad-rows.csv')
    expect(first.code).toBe(EXIT.failedRows)
    expect(first.text).toMatch(/^import \S+: 6 rows\n/)
    expect(first.text).toMatch(/completed: 2 created, 0 skipped, 4 failed of 6 rows in [\d.]+ s/)
    expect(first.text).toMatch(/line 3, url: url must/)
    expect(first.text).toContain('line 5, key: key "fx-good-1" is on line 2 already')

    const again = await runImport('bad-rows.csv')
    expect(again.text).toMatch(/completed: 0 created, 2 skipped, 4 failed of 6 rows/)
  })

  it('imports another service\'s export with exit status 0, and the links are listed and redirect through the edge', async () => {
    const { code, text } = await runImport('bitly.csv', '--format', 'bitly')
    expect(code, text).toBe(EXIT.ok)
    const created = Number(/completed: (\d+) created, 0 skipped, 0 failed/.exec(text)?.[1])
    expect(created).toBeGreaterThan(0)

    const listed = await send(`${edge.url}/api/v1/links?limit=100`, { headers: { authorization: `Bearer ${secret}` } })
    expect(listed.status).toBe(200)
    const links = (JSON.parse(listed.body) as { links: Array<{ key: string, url: string }> }).links
    // Both files' links: the two good rows of the first, and this one's.
    expect(links.length).toBe(2 + created)
    const good = links.find((l) => l.key === 'fx-good-2')!
    expect(good.url).toBe('https://example.com/good/2')
    const redirect = await send(`${edge.url}/fx-good-2`)
    expect([redirect.status, redirect.headers['location']]).toEqual([302, 'https://example.com/good/2'])
  })

  it('fails with the API\'s answer when the key is refused (exit status 2 from a shell), and creates nothing', async () => {
    let text = ''
    const out = collector((chunk) => { text += chunk })
    const args = [join(FIXTURES, 'shortwave.csv'), '--api', edge.url, '--key', 'sw_not_a_key']
    await expect(importCli(args, out)).rejects.toThrow(/the import was refused: HTTP 401/)
    expect(text).toBe('')
    expect((await send(`${edge.url}/fx-spring-sale`)).status).toBe(404)
  })
})
