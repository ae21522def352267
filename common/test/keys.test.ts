import { describe, expect, it } from 'vitest'
import { ALIAS_MAX, BUCKET_LENGTH, bucketOf, canBeKey, createKeyGenerator, isReserved, KEY_ALPHABET } from '../src/keys.ts'
import { clickField, parseClickField, redisKeys } from '../src/redis-keys.ts'

describe('key generator', () => {
  it('makes batches of distinct keys that share one bucket and use only the alphabet', () => {
    const keys = createKeyGenerator(7).batch(200)
    expect(new Set(keys).size).toBe(200)
    expect(new Set(keys.map(bucketOf)).size).toBe(1)
    for (const key of keys) {
      expect(key).toHaveLength(7)
      expect([...key].every((c) => KEY_ALPHABET.includes(c))).toBe(true)
      expect(canBeKey(key)).toBe(true)
    }
  })

  it('leaves out look-alike characters', () => {
    for (const c of '01lIO') expect(KEY_ALPHABET).not.toContain(c)
  })

  it('never makes a key that spells a reserved word', () => {
    // Random bytes (each an index into the alphabet; nanoid reads them from the end) that make the
    // prefix "ass", then the suffix "ets".
    const calls: string[] = []
    const random = (bytes: number) => {
      const scripted = [...(calls.shift() ?? '')].map((c) => KEY_ALPHABET.indexOf(c))
      const random = (): number => Math.floor(Math.random() * KEY_ALPHABET.length)
      return Uint8Array.from({ length: bytes }, (_, i) => scripted[bytes - 1 - i] ?? random())
    }
    expect(isReserved('assets')).toBe(true)
    const generator = createKeyGenerator(6, random)
    calls.push('ass', 'ets')
    const one = generator.one()
    expect(one.startsWith('ass')).toBe(true)
    expect(one).not.toBe('assets')
    calls.push('ass', 'ets')
    const batch = generator.batch(3)
    expect(batch.every((key) => key.startsWith('ass') && !isReserved(key))).toBe(true)
  })

  it('refuses a length that leaves nothing after the bucket prefix', () => {
    expect(() => createKeyGenerator(BUCKET_LENGTH)).toThrow(RangeError)
  })
})

describe('key shape', () => {
  it.each(['abc', 'my-alias_1', 'A'.repeat(ALIAS_MAX)])('accepts %s', (key) => expect(canBeKey(key)).toBe(true))
  it.each(['', 'ab', 'A'.repeat(ALIAS_MAX + 1), 'a.b.c', 'a b c', 'ab%2F', 'über', '../etc'])('rejects %j', (key) => expect(canBeKey(key)).toBe(false))
  it('treats reserved words as reserved in any case', () => {
    expect(isReserved('API')).toBe(true)
    expect(isReserved('healthz')).toBe(true)
    expect(isReserved('my-link')).toBe(false)
  })
})

describe('redis key names', () => {
  it('puts every name under the prefix', () => {
    const keys = redisKeys('x:')
    expect([keys.pool, keys.link('abc'), keys.clicksPending, keys.clicksFolding('w1')].every((k) => k.startsWith('x:'))).toBe(true)
  })

  it('round-trips click fields for people and bots', () => {
    expect(parseClickField(clickField('2026-11-22', 'abc', false))).toEqual({ day: '2026-11-22', key: 'abc', bot: false })
    expect(parseClickField(clickField('2026-11-22', 'abc', true))).toEqual({ day: '2026-11-22', key: 'abc', bot: true })
    expect(parseClickField('garbage')).toBeNull()
    expect(parseClickField('2026-11-22|abc|robot')).toBeNull()
  })
})
