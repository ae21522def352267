// Statistics of one link (#/link/<key>/stats) or of all the caller's links (#/stats): clicks per
// day as a line chart (people, bots apart, unique visitors) over a date range, and the top values
// of each dimension as bars. Every chart has its numbers as a table too.
import type { JSX } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import UPlot from 'uplot'
import { get, query } from '../api.ts'
import { count, Notice } from '../ui/controls.tsx'
import { useFocusOnMount, useLoad } from '../ui/hooks.ts'
import { go, href, type Route } from '../router.ts'
import type { Stats as StatsBody } from '../types.ts'

const DIMENSIONS: Array<[string, string]> = [
  ['country', 'Countries'], ['referrer', 'Referrers'], ['device', 'Devices'], ['browser', 'Browsers'], ['os', 'Operating systems'],
  ['utm_campaign', 'Campaigns (utm_campaign)'], ['utm_source', 'Sources (utm_source)'], ['utm_medium', 'Media (utm_medium)']
]
const TOP = 10
const DAY = 86_400_000

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Every day from `from` to `to`, with the counts of the days that have any. */
export function fillDays (
  from: string, to: string, values: Map<string, number[]>, width: number
): Array<[string, number[]]> {
  const days: Array<[string, number[]]> = []
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY) {
    const day = isoDay(t)
    days.push([day, values.get(day) ?? new Array<number>(width).fill(0)])
  }
  return days
}

function cssColour (name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#1d4ed8'
}

function LineChart ({ days, series }: { days: Array<[string, number[]]>, series: string[] }): JSX.Element {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (el === null) return
    const colours = [cssColour('--accent'), cssColour('--muted'), cssColour('--chart-3')]
    const data: UPlot.AlignedData = [
      days.map(([day]) => Date.parse(day) / 1000),
      ...series.map((_, i) => days.map(([, v]) => v[i] ?? 0))
    ]
    const axis = { stroke: cssColour('--fg'), grid: { stroke: cssColour('--grid') }, ticks: { stroke: cssColour('--grid') } }
    const plot = new UPlot({
      width: Math.max(280, el.clientWidth),
      height: 260,
      scales: { x: { time: true } },
      axes: [axis, axis],
      series: [{}, ...series.map((label, i) => ({
        label, stroke: colours[i], width: 2, dash: i === 1 ? [6, 4] : undefined
      }))]
    }, data, el)
    const resized = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 260 }))
    resized.observe(el)
    return () => { resized.disconnect(); plot.destroy() }
  }, [days, series])
  return <div class='chart' ref={box} role='img' aria-label={`Line chart of ${series.join(', ')} per day; the numbers are in the table below it`} />
}

function Bars ({ title, id, stats }: { title: string, id: string, stats: StatsBody | undefined }): JSX.Element {
  const rows = stats?.rows ?? []
  const top = Math.max(1, ...rows.map((r) => r.clicks))
  return (
    <section class='bars panel' aria-labelledby={`bars-${id}`}>
      <h3 id={`bars-${id}`}>{title}</h3>
      {stats === undefined
        ? <p class='hint'>Loading…</p>
        : rows.length === 0
          ? <p class='hint'>No clicks in this range.</p>
          : (
            <table>
              <thead><tr><th scope='col'>Value</th><th scope='col' class='num'>Clicks</th></tr></thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.value}>
                    <th scope='row'>
                      <span class='bar-label'>{row.value}</span>
                      <span class='bar' aria-hidden='true'><span style={{ width: `${(100 * row.clicks / top).toFixed(1)}%` }} /></span>
                    </th>
                    <td class='num'>{count(row.clicks)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            )}
    </section>
  )
}

export function Stats ({ route }: { route: Route }): JSX.Element {
  const linkKey = route.parts[0] === 'link' ? route.parts[1] : undefined
  const domain = route.params.get('domain') ?? undefined
  const today = isoDay(Date.now())
  const to = route.params.get('to') ?? today
  const from = route.params.get('from') ?? isoDay(Date.parse(to) - 29 * DAY)
  const heading = useFocusOnMount<HTMLHeadingElement>(`${linkKey ?? ''}stats`)
  const base = linkKey === undefined ? '/api/v1/stats' : `/api/v1/links/${encodeURIComponent(linkKey)}/stats`
  const load = (by: string): Promise<StatsBody> => get<StatsBody>(`${base}${query({ domain, from, to, by, limit: by === 'day' ? undefined : TOP })}`)
  const daily = useLoad(() => load('day'), [base, domain, from, to])
  const dims = useLoad(() => Promise.all(DIMENSIONS.map(([by]) => load(by))), [base, domain, from, to])

  function pick (event: Event): void {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    go(href(route.parts, { domain, from: String(data.get('from') ?? ''), to: String(data.get('to') ?? '') }))
  }

  const summary = daily.data
  const values = new Map<string, number[]>()
  for (const row of summary?.rows ?? []) values.set(row.value, [row.clicks, 0, row.uniqueVisitors ?? 0])
  for (const day of summary?.daily ?? []) {
    const v = values.get(day.date) ?? [day.clicks, 0, 0]
    v[1] = day.botClicks
    values.set(day.date, v)
  }
  const days = summary === undefined ? [] : fillDays(summary.from, summary.to, values, 3)
  const series = linkKey === undefined ? ['People', 'Bots (all links: total only)', 'Unique visitors'] : ['People', 'Bots', 'Unique visitors']
  return (
    <>
      <h1 tabindex={-1} ref={heading}>{linkKey === undefined ? 'Statistics of all your links' : <>Statistics of <span class='key'>{linkKey}</span></>}</h1>
      {linkKey !== undefined && <p><a href={href(['link', linkKey], { domain })}>Back to the link</a></p>}
      <form class='filters' key={`${from}${to}`} onSubmit={pick} aria-label='Date range'>
        <div><label for='s-from'>From (UTC day)</label><input id='s-from' name='from' type='date' defaultValue={from} max={today} /></div>
        <div><label for='s-to'>To (UTC day)</label><input id='s-to' name='to' type='date' defaultValue={to} max={today} /></div>
        <button type='submit'>Show</button>
      </form>
      {daily.error !== undefined && <Notice kind='error'>{daily.error.message}</Notice>}
      {summary !== undefined && (
        <>
          <dl class='totals' id='totals'>
            <div><dt>Clicks by people</dt><dd>{count(summary.clicks)}</dd></div>
            <div><dt>Unique visitors</dt><dd>{count(summary.uniqueVisitors)}</dd></div>
            <div><dt>Bots and link previews</dt><dd>{count(summary.botClicks)}</dd></div>
          </dl>
          <section class='panel' aria-labelledby='per-day'>
            <h2 id='per-day'>Clicks per day</h2>
            <LineChart days={days} series={linkKey === undefined ? [series[0]!, series[2]!] : series} />
            <details>
              <summary>The numbers per day</summary>
              <table class='per-day'>
                <thead><tr><th scope='col'>Day</th><th scope='col' class='num'>People</th>{linkKey !== undefined && <th scope='col' class='num'>Bots</th>}<th scope='col' class='num'>Unique visitors</th></tr></thead>
                <tbody>
                  {days.filter(([, v]) => v.some((n) => n > 0)).map(([day, v]) => (
                    <tr key={day}><th scope='row'>{day}</th><td class='num'>{count(v[0] ?? 0)}</td>{linkKey !== undefined && <td class='num'>{count(v[1] ?? 0)}</td>}<td class='num'>{count(v[2] ?? 0)}</td></tr>
                  ))}
                </tbody>
              </table>
            </details>
          </section>
        </>
      )}
      {dims.error !== undefined && <Notice kind='error'>{dims.error.message}</Notice>}
      <div class='bar-grid'>
        {DIMENSIONS.map(([by, title], i) => <Bars key={by} id={by} title={title} stats={dims.data?.[i]} />)}
      </div>
    </>
  )
}
