// Test support: a Cassandra client that runs everything on the real client and records what it
// was asked to run, for tests about how statements are sent (idempotent or not, batch sizes).
import type cassandra from 'cassandra-driver'

export interface SentStatement {
  /** The CQL, or each statement's CQL joined by "; " for a batch. */
  cql: string
  batch: boolean
  options: cassandra.QueryOptions
}

export function spyOnStatements (client: cassandra.Client): { client: cassandra.Client, sent: SentStatement[] } {
  const sent: SentStatement[] = []
  const spy = new Proxy(client, {
    get (target, property) {
      if (property === 'execute') {
        return (cql: string, params?: unknown, options: cassandra.QueryOptions = {}) => {
          sent.push({ cql, batch: false, options })
          return target.execute(cql, params as cassandra.ArrayOrObject, options)
        }
      }
      if (property === 'batch') {
        return (queries: Array<{ query: string, params?: unknown }>, options: cassandra.QueryOptions = {}) => {
          sent.push({ cql: queries.map((q) => q.query).join('; '), batch: true, options })
          return target.batch(queries as Array<{ query: string, params?: cassandra.ArrayOrObject }>, options)
        }
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  return { client: spy, sent }
}
