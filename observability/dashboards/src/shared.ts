import {
  DashboardBuilder, DashboardCursorSync, DashboardLinkBuilder, DashboardLinkType, DatasourceVariableBuilder, RowBuilder,
  type Dashboard, type DataSourceRef
} from '@grafana/grafana-foundation-sdk/dashboard'
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import { ReduceDataOptionsBuilder, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common'
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries'

// What the four dashboards share: the Prometheus data source they ask (picked in a variable, so
// one JSON serves every Grafana), the look of a panel, and the PromQL shapes they repeat.

/** Every panel asks the data source chosen in the dashboard's `datasource` variable. */
// eslint-disable-next-line no-template-curly-in-string -- Grafana's variable syntax, not a template
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' }

/** The window every rate() and histogram_quantile() looks back over. */
export const WINDOW = '5m'

/** Requests that are not the service's work: the probes' and Prometheus's own. */
export const NOT_PROBES = 'route!~"/healthz|/readyz|/metrics"'

/** Every service's registry labels its series with its name (common/src/plugins/metrics.ts). */
export const sel = (service: string, ...matchers: string[]): string =>
  `{${[`service="${service}"`, ...matchers].join(', ')}}`

export const rate = (series: string): string => `rate(${series}[${WINDOW}])`

/** p50, p95 and p99 of a prom-client histogram, one line each per value of `by`. */
export function quantiles (histogram: string, selector = '', by: string[] = []): DataqueryBuilder[] {
  const labels = ['le', ...by].join(', ')
  const legend = by.map((label) => `{{${label}}} `).join('')
  return [0.5, 0.95, 0.99].map((q) => query(
    `histogram_quantile(${q}, sum by (${labels}) (${rate(`${histogram}_bucket${selector}`)}))`,
    `${legend}p${Math.round(q * 100)}`
  ))
}

export function query (expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).range()
}

/** Query letters A, B, C… in the order a panel lists them, as Grafana's editor names them. */
function withTargets<P extends { withTarget: (target: DataqueryBuilder) => P }> (
  panel: P, targets: DataqueryBuilder[]
): P {
  targets.forEach((target, i) => panel.withTarget(target.refId(String.fromCharCode(65 + i))))
  return panel
}

export interface PanelOptions {
  title: string
  description: string
  unit: string
  width?: number
  /** Stack the series (parts of one whole, such as lookups by the layer that answered). */
  stacked?: boolean
}

export function timeseries (options: PanelOptions, ...targets: DataqueryBuilder[]): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .min(0)
    .span(options.width ?? 8)
    .height(8)
    .fillOpacity(options.stacked === true ? 30 : 10)
  if (options.stacked === true) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
  return withTargets(panel, targets)
}

export function stat (options: PanelOptions, ...targets: DataqueryBuilder[]): StatBuilder {
  const panel = new StatBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 6)
    .height(5)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
  return withTargets(panel, targets)
}

export const row = (title: string): RowBuilder => new RowBuilder(title)

/** A dashboard of the Shortwave set: its tag, a data source variable, links to the other three. */
export function dashboard (uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['shortwave'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .link(new DashboardLinkBuilder('Shortwave').type(DashboardLinkType.Dashboards).tags(['shortwave']).asDropdown(true).keepTime(true))
}

/** The dashboard as Grafana's JSON model, its panels numbered in order (Grafana wants each id once). */
export function build (builder: DashboardBuilder): Dashboard {
  const model = builder.build()
  let id = 0
  for (const panel of model.panels ?? []) {
    panel.id = ++id
    if ('panels' in panel) for (const inner of panel.panels) inner.id = ++id
  }
  return model
}
