import { bitly } from './bitly.ts'
import type { ImportLayout, LayoutName } from './format.ts'
import { kutt } from './kutt.ts'
import { shlink } from './shlink.ts'
import { shortwave } from './shortwave.ts'
import { yourls } from './yourls.ts'

export { LAYOUT_NAMES, type ImportLayout, type LayoutName } from './format.ts'

export const LAYOUTS: Readonly<Record<LayoutName, ImportLayout>> = { shortwave, bitly, yourls, kutt, shlink }

// Most specific first: Shlink's and Bitly's files both have a long URL column, Kutt's and the
// YOURLS plugin's a target; Shortwave's own (any file with a `url` column) is the last resort.
const DETECTION_ORDER: readonly ImportLayout[] = [shlink, bitly, kutt, yourls, shortwave]

/** The layout of a file with these normalised column names, or null when none fits. */
export function detectLayout (columns: ReadonlySet<string>): ImportLayout | null {
  return DETECTION_ORDER.find((layout) => layout.detect(columns)) ?? null
}
