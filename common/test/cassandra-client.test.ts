import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/config.ts'
import { nativePort } from '../src/plugins/cassandra.ts'

// The driver connects to the nodes it discovers on one port, protocolOptions.port; it must be the
// contact points' (tests/cluster found a three-node cluster on 19042 shrinking to one node).
describe('nativePort', () => {
  it('is the port the contact points name', () => {
    expect(nativePort(['127.0.0.11:19042', '127.0.0.12:19042'])).toBe(19042)
    expect(nativePort(['[::1]:19042'])).toBe(19042)
  })

  it('is 9042 when they name none', () => {
    expect(nativePort(['cassandra-0.cassandra', 'cassandra-1.cassandra'])).toBe(9042)
    expect(nativePort(['::1'])).toBe(9042)
  })

  it('refuses contact points on different ports, naming the variable', () => {
    expect(() => nativePort(['a:9042', 'b:19042'])).toThrow(ConfigError)
    expect(() => nativePort(['a:9042', 'b:19042'])).toThrow(/CASSANDRA_CONTACT_POINTS/)
  })
})
