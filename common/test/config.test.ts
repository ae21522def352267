import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { CassandraEnv, ConfigError, envSchema, HttpEnv, loadConfig, RedisEnv } from '../src/config.ts'

const schema = envSchema({ ...HttpEnv, ...CassandraEnv, ...RedisEnv, LIMIT: Type.Integer({ minimum: 1, default: 5 }) })

describe('loadConfig', () => {
  it('applies defaults and coerces numbers from strings', () => {
    const config = loadConfig(schema, { PORT: '3001' })
    expect(config.PORT).toBe(3001)
    expect(config.LIMIT).toBe(5)
    expect(config.CASSANDRA_CONSISTENCY).toBe('LOCAL_QUORUM')
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('ignores variables it does not know', () => {
    const config = loadConfig(schema, { PORT: '1', PATH: '/usr/bin' }) as Record<string, unknown>
    expect(config['PATH']).toBeUndefined()
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '1', LIMIT: '0' }, 'LIMIT'],
    [{ PORT: '1', REDIS_URL: 'http://redis' }, 'REDIS_URL'],
    [{ PORT: '1', CASSANDRA_CONSISTENCY: 'ALL' }, 'CASSANDRA_CONSISTENCY'],
    [{ PORT: '1', CASSANDRA_KEYSPACE: 'drop table; --' }, 'CASSANDRA_KEYSPACE'],
    [{}, 'PORT']
  ])('rejects %o with a message naming %s', (env, variable) => {
    expect(() => loadConfig(schema, env)).toThrow(ConfigError)
    expect(() => loadConfig(schema, env)).toThrow(variable)
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { PORT: '1', LIMIT: '' }).LIMIT).toBe(5)
  })
})
