import { describe, expect, it } from 'vitest'
import { sampledFlag } from '../src/plugins/request-tracing.ts'

// The one check an unsampled request pays (plugins/request-tracing.ts): the sampled bit of a W3C
// traceparent, or null for anything that is not one (then the service decides on its own).
describe('sampledFlag', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736'
  const parent = '00f067aa0ba902b7'

  it('reads the sampled bit of the flags', () => {
    expect(sampledFlag(`00-${id}-${parent}-01`)).toBe(true)
    expect(sampledFlag(`00-${id}-${parent}-00`)).toBe(false)
    // Other bits are not the sampled one.
    expect(sampledFlag(`00-${id}-${parent}-03`)).toBe(true)
    expect(sampledFlag(`00-${id}-${parent}-02`)).toBe(false)
  })

  it.each([
    ['another version', `01-${id}-${parent}-01`],
    ['a short trace id', `00-${id.slice(1)}-${parent}-01`],
    ['a longer header', `00-${id}-${parent}-01-extra`],
    ['a missing separator', `00-${id}x${parent}-01`],
    ['flags that are not hex', `00-${id}-${parent}-zz`],
    ['nothing', '']
  ])('is null for %s', (_name, header) => {
    expect(sampledFlag(header)).toBeNull()
  })
})
