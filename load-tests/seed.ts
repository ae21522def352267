// Seeds links for the load tests and the benchmark, straight through the link repository:
//
//   node load-tests/seed.ts [--links 100000 | --million] [--out FILE] [--url-prefix URL]
//
// Every link ends up exactly as a create through the API with a generated key leaves it: its key
// claimed with a conditional batch (claimBatch, as the key-worker does; claimed_by "load-seed"),
// then activated (activateLeased, as create-service does with a key it leased): url, created_at,
// no expiry, no owner (the lease step is skipped: nothing else can hand these keys out). What the
// API does and this does not: the Redis cache write (the first redirect fills it) and the rate
// limit. Through the API links take minutes to seed; this takes seconds.
//
// The keys are written one per line to FILE (default .run/load/<keyspace>.keys), which the k6
// scenarios and the benchmark read. Environment: the services' CASSANDRA_* variables and KEY_LENGTH;
// the keyspace is created and migrated when missing.
import { CassandraEnv, KeyEnv, envSchema, loadConfig } from '@shortwave/common/config'
import { migrate } from '@shortwave/common/cassandra/migrate'
import { parseReplication } from '@shortwave/common/cassandra/schema'
import { createKeyGenerator } from '@shortwave/common/keys'
import { createLinkRepository, type Link } from '@shortwave/common/link-repository'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Type } from 'typebox'

const CLAIMED_BY = 'load-seed'
// Keys per conditional batch (one bucket, one Paxos round) and batches in flight.
const BATCH = 250
const LANES = 8

const { values: args } = parseArgs({
  options: {
    links: { type: 'string', default: '100000' },
    million: { type: 'boolean', default: false },
    out: { type: 'string' },
    'url-prefix': { type: 'string', default: 'https://example.com/load/' }
  }
})

const config = loadConfig(envSchema({ ...CassandraEnv, ...KeyEnv, CASSANDRA_REPLICATION: Type.String({ default: 'SimpleStrategy:1' }) }), process.env)
const total = args.million ? 1_000_000 : Number(args.links)
if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`--links ${args.links} is not a positive whole number`)
const out = resolve(args.out ?? `.run/load/${config.CASSANDRA_KEYSPACE}.keys`)

const admin = createCassandraClient(config, { keyspace: null })
await admin.connect()
await migrate(admin, {
  keyspace: config.CASSANDRA_KEYSPACE, replication: parseReplication(config.CASSANDRA_REPLICATION), log: () => {}
})
await admin.shutdown()

const client = createCassandraClient(config)
const repo = createLinkRepository(client)
const generator = createKeyGenerator(config.KEY_LENGTH)
const keys: string[] = []
let reserved = 0
const started = performance.now()

async function lane (): Promise<void> {
  while (reserved < total) {
    const want = Math.min(BATCH, total - reserved)
    reserved += want
    const { claimed } = await repo.claimBatch(generator.batch(want), CLAIMED_BY)
    // Conflicts (a key someone already has) are simply asked for again.
    reserved -= want - claimed.length
    const createdAt = new Date()
    await Promise.all(claimed.map((key) => {
      const link: Link = { key, url: `${args['url-prefix']}${key}`, createdAt, expiresAt: null, owner: null }
      return repo.activateLeased(link)
    }))
    keys.push(...claimed)
    if (keys.length % 50_000 < claimed.length) process.stderr.write(`  ${keys.length} links\n`)
  }
}

try {
  await Promise.all(Array.from({ length: LANES }, lane))
} finally {
  await client.shutdown()
}

mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, keys.join('\n') + '\n')
const seconds = (performance.now() - started) / 1000
console.log(`seeded ${keys.length} links into keyspace ${config.CASSANDRA_KEYSPACE} in ${seconds.toFixed(1)} s (${Math.round(keys.length / seconds)}/s); keys in ${out}`)
