// Test support: a Cassandra client whose answers to some statements get lost, as when a
// coordinator times out or a connection drops with the request in flight. The statement either
// runs on the real client first ('after': the write landed, only its answer is lost) or not at
// all ('before'); either way the caller gets the write timeout a coordinator would send.
import cassandra from 'cassandra-driver'

export type LossMode = 'after' | 'before'

export function writeTimeout (): cassandra.errors.ResponseError {
  return new cassandra.errors.ResponseError(cassandra.types.responseErrorCodes.writeTimeout, 'Operation timed out - received only 0 responses (injected)')
}

export function loseAnswers (
  client: cassandra.Client,
  match: (cql: string) => boolean,
  mode: LossMode
): { client: cassandra.Client, lost: string[] } {
  const lost: string[] = []
  async function lose<T> (cql: string, run: () => Promise<T>): Promise<T> {
    if (!match(cql)) return run()
    lost.push(cql)
    if (mode === 'after') await run()
    throw writeTimeout()
  }
  const wrapped = new Proxy(client, {
    get (target, property) {
      if (property === 'execute') {
        return (cql: string, params?: cassandra.ArrayOrObject, options?: cassandra.QueryOptions) =>
          lose(cql, () => target.execute(cql, params, options))
      }
      if (property === 'batch') {
        type Queries = Array<{ query: string, params?: cassandra.ArrayOrObject }>
        return (queries: Queries, options?: cassandra.QueryOptions) =>
          lose(queries.map((q) => q.query).join('; '), () => target.batch(queries, options))
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  return { client: wrapped, lost }
}
