import cassandra from 'cassandra-driver'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import type { FastifyError } from 'fastify'
import { isCassandraUnavailable, NoFreeKeyError } from '../src/errors.ts'
import errorHandler, { errorBody } from '../src/plugins/error-handler.ts'

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
    expect(errorBody(socketClosed() as FastifyError)).toEqual({
      statusCode: 503, error: 'Service Unavailable', message: 'Cassandra is unavailable; retry shortly', code: 'SW_DEPENDENCY_UNAVAILABLE'
    })
  })

  it('counts timeouts and "no host" as unavailable', () => {
    expect(isCassandraUnavailable(new errors.NoHostAvailableError({}))).toBe(true)
    expect(isCassandraUnavailable(new errors.OperationTimedOutError('late'))).toBe(true)
    expect(isCassandraUnavailable(new errors.ResponseError(types.responseErrorCodes.unavailableException, 'down'))).toBe(true)
  })

  it.each([
    ['a server error', types.responseErrorCodes.serverError],
    ['a truncate error', types.responseErrorCodes.truncateError]
  ])('counts %s, a failure inside Cassandra, as unavailable', (_name, code) => {
    expect(isCassandraUnavailable(new errors.ResponseError(code, 'java.lang.RuntimeException'))).toBe(true)
  })

  it('leaves errors of the query itself alone', () => {
    expect(isCassandraUnavailable(new errors.ResponseError(types.responseErrorCodes.invalid, "Keyspace 'x' does not exist"))).toBe(false)
    expect(isCassandraUnavailable(new DriverError('something else'))).toBe(false)
    expect(isCassandraUnavailable(new Error('plain'))).toBe(false)
  })
})

describe('the error handler', () => {
  async function answerTo (error: Error) {
    const app = Fastify({ logger: false })
    await app.register(errorHandler, { retryAfterSeconds: 5 })
    app.get('/', async () => { throw error })
    try {
      return await app.inject('/')
    } finally {
      await app.close()
    }
  }

  it.each([
    ['a Cassandra server error', new errors.ResponseError(types.responseErrorCodes.serverError, 'java.lang.RuntimeException: boom'), 'SW_DEPENDENCY_UNAVAILABLE'],
    ['a truncate error', new errors.ResponseError(types.responseErrorCodes.truncateError, 'truncate failed'), 'SW_DEPENDENCY_UNAVAILABLE'],
    ['no free key', new NoFreeKeyError(5), 'SW_NO_FREE_KEY']
  ])('answers %s with 503 and Retry-After, hiding driver details', async (_name, error, code) => {
    const response = await answerTo(error)
    expect(response.statusCode).toBe(503)
    expect(response.headers['retry-after']).toBe('5')
    expect(response.json()).toMatchObject({ statusCode: 503, code })
    expect(response.body).not.toMatch(/java|boom|truncate failed/)
  })
})
