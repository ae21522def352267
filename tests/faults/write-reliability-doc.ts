// node tests/faults/write-reliability-doc.ts faults|cluster — run by scripts/faults.ts after each
// suite, passed or failed: renders reports/<suite>.json (and, for faults, reports/fuzz.json) into
// docs/reliability.md between the suite's markers. A report the run did not write leaves its
// section as it was, with a warning.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './harness/processes.ts'
import { renderCluster, renderFaults, renderFuzz, spliceSection, type ClusterReport, type FaultsReport, type FuzzReport, type Section } from './harness/reliability-doc.ts'

const RENDER: Record<Section, (report: never) => string> = {
  faults: (report: FaultsReport) => renderFaults(report),
  fuzz: (report: FuzzReport) => renderFuzz(report),
  cluster: (report: ClusterReport) => renderCluster(report)
}
const SECTIONS: Record<string, Section[]> = { faults: ['faults', 'fuzz'], cluster: ['cluster'] }

const suite = process.argv[2] ?? ''
const sections = SECTIONS[suite]
if (!sections) {
  console.error('usage: node tests/faults/write-reliability-doc.ts faults|cluster')
  process.exit(2)
}
const docFile = join(ROOT, 'docs', 'reliability.md')
let doc = readFileSync(docFile, 'utf8')
for (const section of sections) {
  const source = `reports/${section}.json`
  if (!existsSync(join(ROOT, source))) {
    console.error(`[write-reliability-doc] ${source} missing (the run stopped before writing it): its section of docs/reliability.md is left as it was`)
    continue
  }
  try {
    const report = JSON.parse(readFileSync(join(ROOT, source), 'utf8')) as never
    doc = spliceSection(doc, section, RENDER[section](report), source)
  } catch (error) {
    console.error(`[write-reliability-doc] ${source} could not be rendered (${(error as Error).message}): its section is left as it was`)
    process.exitCode = 1
  }
}
writeFileSync(docFile, doc)
console.error(`[write-reliability-doc] docs/reliability.md: ${sections.join(', ')} from reports/`)
