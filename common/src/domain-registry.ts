import type cassandra from 'cassandra-driver'
import { IDEMPOTENT } from './link-repository.ts'

// The registry of custom domains in Cassandra (migration 008-domains): one partition, read whole by
// the services that keep it in memory (domain-directory.ts), one row by host otherwise.

export interface Domain {
  /** Normalised (domains.ts, normalizeHost). */
  host: string
  /** Where GET / on the host goes; null: 404. */
  rootRedirect: string | null
  /** Where an unknown key on the host goes; null: 404. */
  notFoundRedirect: string | null
  createdAt: Date
}

const SCOPE = 'all'
const COLUMNS = 'host, root_redirect, not_found_redirect, created_at'

const Q = {
  list: `SELECT ${COLUMNS} FROM domains WHERE scope = ?`,
  get: `SELECT ${COLUMNS} FROM domains WHERE scope = ? AND host = ?`,
  insert: 'INSERT INTO domains (scope, host, root_redirect, not_found_redirect, created_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
  remove: 'DELETE FROM domains WHERE scope = ? AND host = ? IF EXISTS'
} as const

function toDomain (row: cassandra.types.Row): Domain {
  return {
    host: row['host'] as string,
    rootRedirect: (row['root_redirect'] as string | null) ?? null,
    notFoundRedirect: (row['not_found_redirect'] as string | null) ?? null,
    createdAt: row['created_at'] as Date
  }
}

export function createDomainRepository (client: cassandra.Client) {
  return {
    /** Every registered domain, by host. */
    async list (): Promise<Domain[]> {
      // One page: a registry is hundreds of rows, not the driver's default page of 5,000.
      const result = await client.execute(Q.list, [SCOPE], { ...IDEMPOTENT, fetchSize: 10_000 })
      return result.rows.map(toDomain)
    },

    async get (host: string): Promise<Domain | null> {
      const row = (await client.execute(Q.get, [SCOPE, host], IDEMPOTENT)).first()
      return row ? toDomain(row) : null
    },

    /** False when the host is registered already. */
    async insert (domain: Domain): Promise<boolean> {
      const params = [SCOPE, domain.host, domain.rootRedirect, domain.notFoundRedirect, domain.createdAt]
      return (await client.execute(Q.insert, params, { prepare: true })).wasApplied()
    },

    /** False when the host was not registered. */
    async remove (host: string): Promise<boolean> {
      return (await client.execute(Q.remove, [SCOPE, host], { prepare: true })).wasApplied()
    }
  }
}
export type DomainRepository = ReturnType<typeof createDomainRepository>
