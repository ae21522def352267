import { describe, expect, it } from 'vitest'
import { parseReplication, replicationCql } from '../src/cassandra/schema.ts'

describe('replication setting', () => {
  it('parses the local single-node form', () => {
    expect(replicationCql(parseReplication('SimpleStrategy:1'))).toBe("{'class': 'SimpleStrategy', 'replication_factor': 1}")
  })

  it('parses the production multi-datacenter form', () => {
    expect(replicationCql(parseReplication('NetworkTopologyStrategy:dc1=3,dc2=3')))
      .toBe("{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3}")
  })

  it.each(['', 'SimpleStrategy', 'SimpleStrategy:0', "NetworkTopologyStrategy:dc1=3'}; DROP", 'Everywhere:3'])('rejects %j', (text) => {
    expect(() => parseReplication(text)).toThrow(RangeError)
  })
})
