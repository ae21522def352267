import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../src/cassandra/migrate.ts'
import { parseReplication } from '../src/cassandra/schema.ts'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'

let infra: TestInfra

beforeAll(async () => {
  infra = await createTestInfra('migrations')
})

afterAll(async () => {
  await infra?.close()
})

describe('migrations on the real Cassandra', () => {
  it('compact links with the unified strategy, tiered, rather than leveled', async () => {
    const result = await infra.cassandra.execute(
      'SELECT compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [infra.keyspace, 'links'], { prepare: true })
    expect(result.first()?.['compaction']).toMatchObject({ class: 'org.apache.cassandra.db.compaction.UnifiedCompactionStrategy', scaling_parameters: 'T4' })
  })

  it('apply nothing twice: a second run over a migrated keyspace changes nothing', async () => {
    const applied = await migrate(infra.cassandra, { keyspace: infra.keyspace, replication: parseReplication('SimpleStrategy:1') })
    expect(applied).toEqual([])
  })
})
