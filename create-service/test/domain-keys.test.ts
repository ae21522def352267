import { createDomainRepository } from '@shortwave/common/domain-registry'
import { createKeyPool } from '@shortwave/common/key-pool'
import { createKeyGenerator } from '@shortwave/common/keys'
import { createLinkRepository } from '@shortwave/common/link-repository'
import { redisKeys } from '@shortwave/common/redis-keys'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLink, startApp } from './helpers.ts'

// Generated keys for a link of a custom domain: leased from the one pool (so handed out once across
// domains), stored in the domain's own rows with IF NOT EXISTS (an alias there may hold the key),
// the default-domain row never activated.

let infra: TestInfra
let app: FastifyInstance
const DOMAIN = 'keys.domains.test'

beforeAll(async () => {
  infra = await createTestInfra('cs_domain_keys', { KEY_LEASE_AHEAD: '0' })
  const domain = { host: DOMAIN, rootRedirect: null, notFoundRedirect: null, createdAt: new Date() }
  await createDomainRepository(infra.cassandra).insert(domain)
  app = await startApp(infra)
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

async function defaultRow (key: string): Promise<{ state: string, url: string | null } | undefined> {
  const row = (await infra.cassandra.execute('SELECT state, url FROM links WHERE bucket = ? AND key = ?', [key.slice(0, 3), key], { prepare: true })).first()
  return row === null ? undefined : { state: row['state'] as string, url: (row['url'] as string | null) ?? null }
}

describe('generated keys on a custom domain', () => {
  it('skips a pooled key an alias on the domain already holds, and never activates the default row', async () => {
    const [held, free] = createKeyGenerator(7).batch(2)
    const { claimed } = await createLinkRepository(infra.cassandra).claimBatch([held!, free!], 'test')
    expect(claimed).toEqual([held, free])
    // The alias is taken on the domain before the pool hands its key out.
    const alias = await createLink(app, { url: 'https://example.com/alias', alias: held, domain: DOMAIN })
    expect(alias.statusCode).toBe(201)
    await createKeyPool(infra.redis, redisKeys(infra.prefix)).offer([held!, free!])

    const generated = await createLink(app, { url: 'https://example.com/generated', domain: DOMAIN })
    expect(generated.statusCode).toBe(201)
    expect(generated.json()).toMatchObject({ key: free, domain: DOMAIN, shortUrl: `http://${DOMAIN}/${free}` })

    const repo = createLinkRepository(infra.cassandra)
    expect(await repo.find(held!, DOMAIN)).toMatchObject({ url: 'https://example.com/alias', domain: DOMAIN })
    expect(await repo.find(free!, DOMAIN)).toMatchObject({ url: 'https://example.com/generated', domain: DOMAIN })
    // Both default rows leased by this create, neither a default-domain link.
    for (const key of [held!, free!]) expect(await defaultRow(key)).toEqual({ state: 'leased', url: null })
    expect(await repo.find(free!)).toBeNull()
  })

  it('reserves the default row of a key it claims itself (empty pool), so the key is never pooled again', async () => {
    expect(await infra.redis.scard(redisKeys(infra.prefix).pool)).toBe(0)
    const generated = await createLink(app, { url: 'https://example.com/bypass', domain: DOMAIN })
    expect(generated.statusCode).toBe(201)
    const { key } = generated.json() as { key: string }
    expect(await defaultRow(key)).toEqual({ state: 'reserved', url: null })
    // The key-worker's claim of it would fail: the row exists.
    expect((await createLinkRepository(infra.cassandra).claimBatch([key], 'worker')).claimed).toEqual([])
    expect(await createLinkRepository(infra.cassandra).find(key, DOMAIN)).toMatchObject({ url: 'https://example.com/bypass' })
  })

  it('stores a default-domain link as before: no domain on the link, the cache entry under the bare key', async () => {
    const created = await createLink(app, { url: 'https://example.com/plain', alias: `plain-${Date.now().toString(36)}` })
    const { key } = created.json() as { key: string }
    expect(await createLinkRepository(infra.cassandra).find(key)).not.toHaveProperty('domain')
    expect(await infra.redis.get(redisKeys(infra.prefix).link(key))).toBe('{"u":"https://example.com/plain","e":null}')
  })
})
