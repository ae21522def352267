import { CLICK_DIMENSIONS } from '@shortwave/common/stats-dimensions'
import { Type, type Static } from 'typebox'
import { ROWS_DEFAULT, type LinkStatsResult } from './link-stats.ts'
import { DomainQueryField } from './schemas.ts'

// Shapes of the statistics API (GET /api/v1/links/{key}/stats, GET /api/v1/stats, DELETE …/stats).

const Day = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$', description: 'a UTC day, YYYY-MM-DD' })

const LINK_BYS = ['day', ...CLICK_DIMENSIONS] as const
const OWNER_BYS = [...LINK_BYS, 'link'] as const

const rangeFields = {
  from: Type.Optional({ ...Day, description: 'first UTC day, YYYY-MM-DD (included)' }),
  to: Type.Optional({ ...Day, description: 'last UTC day, YYYY-MM-DD (included); today by default' }),
  limit: Type.Optional(Type.Integer({
    minimum: 1, maximum: 1000, description: `rows kept, the most clicked (${ROWS_DEFAULT} by default); the rest are added up under "other". Not for by=day`
  }))
}

export const LinkStatsQuery = Type.Object({
  ...DomainQueryField,
  ...rangeFields,
  by: Type.Optional(Type.Unsafe<typeof LINK_BYS[number]>({ type: 'string', enum: [...LINK_BYS], description: `one of ${LINK_BYS.join(', ')}` }))
})

export const OwnerStatsQuery = Type.Object({
  ...rangeFields,
  by: Type.Optional(Type.Unsafe<typeof OWNER_BYS[number]>({ type: 'string', enum: [...OWNER_BYS], description: `one of ${OWNER_BYS.join(', ')}` }))
})

const Row = Type.Object({
  value: Type.String({ description: 'the day (by=day), the value of the dimension, the link\'s key (by=link; host/key off the default domain), or "other"' }),
  clicks: Type.Integer(),
  uniqueVisitors: Type.Optional(Type.Integer({ description: 'by=day only: estimated distinct visitors that day' }))
})

const summary = {
  from: Type.String({ description: 'first UTC day counted' }),
  to: Type.String({ description: 'last UTC day counted' }),
  by: Type.String(),
  clicks: Type.Integer({ description: 'clicks by people in the range: the sum of rows' }),
  botClicks: Type.Integer({ description: 'GET requests from known bots and link unfurlers in the range' }),
  uniqueVisitors: Type.Integer({ description: 'the sum over the range\'s days of each day\'s estimated distinct visitors' }),
  rows: Type.Array(Row, { description: 'by=day: days with clicks, oldest first; otherwise the most clicked values first' })
}

const DailyClicksBody = Type.Object({
  date: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  clicks: Type.Integer(),
  botClicks: Type.Integer()
})

export const StatsBody = Type.Object({
  key: Type.String(),
  ...summary,
  daily: Type.Array(DailyClicksBody, { description: 'days of the range with clicks or bot clicks, oldest first' })
}, {
  description: 'Clicks of the link',
  examples: [{
    key: 'Xk3p9Qa',
    from: '2026-11-21',
    to: '2026-11-22',
    by: 'country',
    clicks: 12,
    botClicks: 3,
    uniqueVisitors: 9,
    rows: [{ value: 'DE', clicks: 7 }, { value: 'FR', clicks: 4 }, { value: 'unknown', clicks: 1 }],
    daily: [{ date: '2026-11-21', clicks: 5, botClicks: 1 }, { date: '2026-11-22', clicks: 7, botClicks: 2 }]
  }]
})

export const OwnerStatsBody = Type.Object(summary, {
  description: 'Clicks of all the caller\'s links together',
  examples: [{
    from: '2026-11-07',
    to: '2026-12-06',
    by: 'link',
    clicks: 40,
    botClicks: 6,
    uniqueVisitors: 31,
    rows: [{ value: 'Xk3p9Qa', clicks: 25 }, { value: 'go.example.com/launch', clicks: 15 }]
  }]
})

export const StatsPurged = Type.Null({ description: 'The link\'s statistics are gone; clicks of the last seconds may still arrive' })

export function toStatsBody (key: string, stats: LinkStatsResult): Static<typeof StatsBody> {
  return {
    key,
    from: stats.from,
    to: stats.to,
    by: stats.by,
    clicks: stats.clicks,
    botClicks: stats.botClicks,
    uniqueVisitors: stats.uniqueVisitors,
    rows: stats.rows,
    daily: stats.daily.map((d) => ({ date: d.day, clicks: d.clicks, botClicks: d.botClicks }))
  }
}
