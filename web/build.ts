// Builds the page nginx serves into web/dist/ (git-ignored), from scratch every time (esbuild
// takes well under a second), and swaps it in whole:
//   dist/index.html               the page, naming the hashed files below
//   dist/static/assets/*-HASH.*   the code and styles: content-hashed, so nginx caches them for a year
//   dist/static/app.css, favicon.svg   stable names, for redirect-service's 404 page (revalidated)
// Run by `npm start` and `npm test` (scripts/ensure-tools.sh web); by hand: npm run build:web.
import { build } from 'esbuild'
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const WEB = dirname(fileURLToPath(import.meta.url))
const DIST = join(WEB, 'dist')
const NEXT = join(WEB, 'dist.next')
const ASSETS = join(NEXT, 'static', 'assets')

await rm(NEXT, { recursive: true, force: true })
await mkdir(ASSETS, { recursive: true })
const result = await build({
  entryPoints: { main: join(WEB, 'src', 'main.tsx') },
  bundle: true,
  splitting: true,
  format: 'esm',
  // What the page's users run: evergreen browsers of the last two years.
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  outdir: ASSETS,
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // The licences of what is bundled, in one file beside the code (the code keeps none).
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning'
})

// The entry's script and the stylesheet bundled from the CSS it imports.
// The entry's script, the chunks it imports (preloaded: no waterfall), and the stylesheet bundled
// from the CSS it imports.
let script = ''
let style = ''
let preloads: string[] = []
const url = (file: string): string => `/${relative(NEXT, file)}`
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (output.entryPoint === undefined || !output.entryPoint.endsWith('src/main.tsx')) continue
  script = url(file)
  style = output.cssBundle === undefined ? '' : url(output.cssBundle)
  preloads = output.imports.filter((i) => i.kind === 'import-statement').map((i) => url(i.path))
}
if (script === '' || style === '') throw new Error('esbuild wrote no entry script or no stylesheet')
const page = (await readFile(join(WEB, 'index.html'), 'utf8'))
  .replace('{{main.js}}', script)
  .replace('{{main.css}}', style)
  .replace('{{preloads}}', preloads.map((href) => `<link rel="modulepreload" href="${href}">`).join('\n  '))
await writeFile(join(NEXT, 'index.html'), page)
for (const file of ['app.css', 'favicon.svg']) await cp(join(WEB, 'static', file), join(NEXT, 'static', file))

// The old build goes only once the new one is complete: nginx never serves half of one.
await rm(`${DIST}.old`, { recursive: true, force: true })
await rename(DIST, `${DIST}.old`).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'ENOENT') throw error })
await rename(NEXT, DIST)
await rm(`${DIST}.old`, { recursive: true, force: true })

const sizes = Object.entries(result.metafile.outputs).map(([file, o]) => `${basename(file)} ${(o.bytes / 1024).toFixed(1)} KiB`)
process.stdout.write(`web: built ${relative(process.cwd(), DIST) || '.'}: ${sizes.join(', ')}\n`)
