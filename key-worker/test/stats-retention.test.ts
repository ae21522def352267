import { createClickRollups, linkScope, ownerScope, type ClickRollups } from '@shortwave/common/click-rollups'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstMonthKept, sweepRetention } from '../src/stats-retention.ts'

describe('the first month kept', () => {
  it('counts the current month as one of those kept', () => {
    expect(firstMonthKept(Date.UTC(2026, 11, 6), 1)).toBe('2026-12')
    expect(firstMonthKept(Date.UTC(2026, 11, 6), 12)).toBe('2026-01')
    expect(firstMonthKept(Date.UTC(2026, 0, 31), 2)).toBe('2025-12')
    expect(firstMonthKept(Date.UTC(2026, 0, 31), 25)).toBe('2024-01')
  })
})

describe('the analytics retention sweep', () => {
  let infra: TestInfra
  let rollups: ClickRollups

  beforeAll(async () => {
    infra = await createTestInfra('kw_retention')
    rollups = createClickRollups(infra.cassandra)
  })

  afterAll(async () => {
    await infra?.close()
  })

  async function counted (scope: string, day: string): Promise<void> {
    await rollups.note(scope, day, { month: true, visitors: 1 })
    await rollups.add(scope, day, [{ dimension: 'country', value: 'DE', clicks: 2 }])
  }

  it('deletes the months before the retention, rollups and visitors, and keeps the rest', async () => {
    const now = Date.UTC(2026, 5, 15)
    await counted(linkScope('old1'), '2025-12-31')
    await counted(ownerScope('owner-r'), '2026-01-10')
    await counted(linkScope('old1'), '2026-04-01')
    await counted(linkScope('kept1'), '2026-06-01')

    // Three months kept: April, May, June.
    expect(await sweepRetention({ rollups, now: () => now }, 3)).toBe(2)
    expect(await rollups.range(linkScope('old1'), 'country', '2025-12-01', '2026-06-30')).toEqual([{ day: '2026-04-01', value: 'DE', clicks: 2 }])
    expect(await rollups.range(ownerScope('owner-r'), 'country', '2026-01-01', '2026-01-31')).toEqual([])
    expect(await rollups.visitors(linkScope('old1'), '2025-01-01', '2026-12-31')).toEqual([{ day: '2026-04-01', visitors: 1 }])
    expect(await rollups.range(linkScope('kept1'), 'country', '2026-06-01', '2026-06-30')).toHaveLength(1)
    // The months swept are forgotten: the next sweep has nothing to do.
    expect(await sweepRetention({ rollups, now: () => now }, 3)).toBe(0)
  })

  it('keeps everything with a retention of 0', async () => {
    await counted(linkScope('forever'), '2024-07-01')
    expect(await sweepRetention({ rollups, now: () => Date.UTC(2026, 5, 15) }, 0)).toBe(0)
    expect(await rollups.range(linkScope('forever'), 'country', '2024-07-01', '2024-07-01')).toHaveLength(1)
  })
})
