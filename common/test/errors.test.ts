import cassandra from 'cassandra-driver'
import { describe, expect, it } from 'vitest'
import { cassandraUnavailable, DependencyUnavailableError, isCassandraUnavailable } from '../src/errors.ts'

const { errors, types } = cassandra
// Abstract in the typings; the driver itself constructs it (connection.js, clearAndInvokePending).
const DriverError = errors.DriverError as unknown as new (message: string) => Error

// What the driver throws for a request in flight on a node that dies (see tests/faults): a
// DriverError flagged as a socket error, not one of the driver's "unavailable" classes.
function socketClosed (): Error {
  return Object.assign(new DriverError('Socket was closed'), { isSocketError: true })
}

describe('isCassandraUnavailable', () => {
  it('counts a node dying with the request in flight as unavailable (503), not as a bug (500)', () => {
    expect(isCassandraUnavailable(socketClosed())).toBe(true)
    expect(() => cassandraUnavailable(socketClosed())).toThrow(DependencyUnavailableError)
  })

  it('counts timeouts and "no host" as unavailable', () => {
    expect(isCassandraUnavailable(new errors.NoHostAvailableError({}))).toBe(true)
    expect(isCassandraUnavailable(new errors.OperationTimedOutError('late'))).toBe(true)
    expect(isCassandraUnavailable(new errors.ResponseError(types.responseErrorCodes.unavailableException, 'down'))).toBe(true)
  })

  it('leaves errors of the query itself alone', () => {
    expect(isCassandraUnavailable(new errors.ResponseError(types.responseErrorCodes.invalid, "Keyspace 'x' does not exist"))).toBe(false)
    expect(isCassandraUnavailable(new DriverError('something else'))).toBe(false)
    expect(isCassandraUnavailable(new Error('plain'))).toBe(false)
  })
})
