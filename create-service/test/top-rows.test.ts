import { describe, expect, it } from 'vitest'
import { topRows } from '../src/link-stats.ts'

const at = (value: string, clicks: number, day = '2026-03-04') => ({ day, value, clicks })

describe('the rows of a stats answer', () => {
  it('sums each value over the days, most clicked first, ties by value', () => {
    expect(topRows([at('DE', 2), at('FR', 3), at('DE', 2, '2026-03-05'), at('AT', 3)], 10)).toEqual([
      { value: 'DE', clicks: 4 }, { value: 'AT', clicks: 3 }, { value: 'FR', clicks: 3 }
    ])
  })

  it('keeps `limit` values and adds the rest up under "other", stored "other" included, so the rows still add up', () => {
    const rows = topRows([at('a', 9), at('b', 8), at('c', 1), at('other', 2), at('d', 1)], 2)
    expect(rows).toEqual([{ value: 'a', clicks: 9 }, { value: 'b', clicks: 8 }, { value: 'other', clicks: 4 }])
    expect(rows.reduce((s, r) => s + r.clicks, 0)).toBe(21)
  })

  it('leaves out values whose counts were purged to zero', () => {
    expect(topRows([at('a', 0), at('b', 1)], 10)).toEqual([{ value: 'b', clicks: 1 }])
  })
})
