// Writes the Grafana dashboards (src/, one file each) as the JSON Grafana imports, beside this
// file: `npm run dashboards`. The JSON is committed, so an operator imports it without Node;
// tests/observability/dashboards.test.ts fails when it differs from a fresh build.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { clickPipeline } from './src/click-pipeline.ts'
import { keyPool } from './src/key-pool.ts'
import { overview } from './src/overview.ts'
import { stores } from './src/stores.ts'

export const DASHBOARDS_DIR = import.meta.dirname

/** Each dashboard by the name of its file. */
export function dashboards (): Record<string, Dashboard> {
  return {
    'overview.json': overview(),
    'key-pool.json': keyPool(),
    'click-pipeline.json': clickPipeline(),
    'stores.json': stores()
  }
}

/** A dashboard's file as it is committed. */
export const render = (dashboard: Dashboard): string => JSON.stringify(dashboard, null, 2) + '\n'

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [file, dashboard] of Object.entries(dashboards())) {
    writeFileSync(join(DASHBOARDS_DIR, file), render(dashboard))
    console.log(`wrote observability/dashboards/${file}: ${dashboard.title}`)
  }
}
