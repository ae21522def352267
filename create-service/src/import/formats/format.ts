import type { ImportFields } from '../fields.ts'

/** How one kind of export file names its columns, and how its values become the fields of a create. */
export interface ImportLayout {
  name: LayoutName
  /** Whether a file with these (normalised) column names is of this layout. */
  detect: (columns: ReadonlySet<string>) => boolean
  /** The row's fields; `values` are keyed by normalised column name (fields.ts normaliseName). */
  toFields: (values: Record<string, unknown>) => ImportFields
}

export const LAYOUT_NAMES = ['shortwave', 'bitly', 'yourls', 'kutt', 'shlink'] as const
export type LayoutName = typeof LAYOUT_NAMES[number]
