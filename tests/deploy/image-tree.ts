// Builds an image's file tree without Docker: the Dockerfile's own steps, as BuildKit parsed them
// (helpers.ts, image), replayed into folders under .cache. Every stage before the last is a build
// stage: its COPY from the context (after .dockerignore) and its RUN lines (with the host's npm
// and the pinned Node 24) run in a folder of its own. The last stage is the image: its COPY
// --from take a path out of an earlier stage's folder, its COPY from the context and its heredoc
// files are written as Docker would. Folders are kept, keyed by everything they are made of, so a
// warm run reuses them; each is built aside and renamed into place whole.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { copiedFiles, image, root, type DockerCopy, type DockerStage, type ImageName } from './helpers.ts'

const work = join(root, '.cache/deploy-check/images')

export interface ImageTree { dir: string, workdir: string }

/**
 * Makes `dir` with `make` into a private folder, then renames it into place: test files running
 * at once (each in its own process) may build the same tree, and the first one complete wins.
 */
function publish (dir: string, make: (into: string) => void): void {
  const complete = (d: string): boolean => existsSync(join(d, '.complete'))
  if (complete(dir)) return
  const into = join(work, '.building', `${posix.basename(dir)}-${process.pid}`)
  rmSync(into, { recursive: true, force: true })
  mkdirSync(into, { recursive: true })
  try {
    make(into)
    writeFileSync(join(into, '.complete'), '')
    // A folder left half-built by an interrupted run goes; a complete one wins.
    if (!complete(dir)) rmSync(dir, { recursive: true, force: true })
    renameSync(into, dir)
  } catch (error) {
    rmSync(into, { recursive: true, force: true })
    if (!complete(dir)) throw error
  }
}

/** Removes the trees of earlier inputs (same prefix, other hash), so .cache does not grow. */
function prune (prefix: string, keep: string): void {
  if (!existsSync(work)) return
  for (const name of readdirSync(work)) {
    if (name.startsWith(prefix) && join(work, name) !== keep) rmSync(join(work, name), { recursive: true, force: true })
  }
}

/** The context files a stage's COPY instructions send. */
const contextFiles = (stage: DockerStage): string[] => stage.copies.flatMap((c) => c.sources.flatMap((s) => s.files))

/** Where an absolute image path lives in a stage's folder. */
export const at = (stageDir: string, imagePath: string): string => join(stageDir, imagePath)

const destOf = (copy: DockerCopy): string => posix.resolve(copy.workdir, copy.dest)

/** A hash of what a stage is made of: `before`, every context file it copies, then `after`. */
function hashOf (stage: DockerStage, before: string[], after: string[] = []): string {
  const hash = createHash('sha256')
  for (const part of before) hash.update(part)
  for (const f of contextFiles(stage)) hash.update(f).update(readFileSync(join(root, f)))
  for (const part of after) hash.update(part)
  return hash.digest('hex').slice(0, 16)
}

/** The stage's COPY instructions, in order: from earlier stages, from the context, heredocs. */
function copyInto (stageDir: string, stage: DockerStage, stageDirs: Map<string, string>, label: string): void {
  for (const copy of stage.copies) {
    const dest = destOf(copy)
    if (copy.from) {
      const from = stageDirs.get(copy.from)
      if (!from) throw new Error(`${label}: COPY --from=${copy.from} names no earlier stage`)
      for (const source of copy.sources) {
        // verbatimSymlinks: the workspace links (node_modules/@shortwave/common -> ../../common) stay relative.
        cpSync(at(from, source.path), at(stageDir, dest), { recursive: true, verbatimSymlinks: true })
      }
      continue
    }
    for (const inline of copy.inline ?? []) {
      mkdirSync(join(at(stageDir, dest), '..'), { recursive: true })
      writeFileSync(at(stageDir, dest), inline.data, { mode: 0o755 })
    }
    for (const { file, to } of copiedFiles(copy)) {
      mkdirSync(join(at(stageDir, to), '..'), { recursive: true })
      cpSync(join(root, file), at(stageDir, to))
    }
  }
}

/** Replays a build stage (its copies, then its RUN lines in its working directory). */
function buildStage (name: ImageName, stage: DockerStage, index: number, stageDirs: Map<string, string>): string {
  const prefix = `${name}-${stage.name || index}-`
  const from = stage.copies.some((c) => c.from) ? [JSON.stringify([...stageDirs])] : []
  const dir = join(work, prefix + hashOf(stage, [], [...stage.runs, ...from]))
  prune(prefix, dir)
  publish(dir, (into) => {
    copyInto(into, stage, stageDirs, name)
    // The report has no working directory per RUN: the stages here set theirs before any COPY.
    const workdir = stage.copies[0]?.workdir ?? '/'
    for (const run of stage.runs) {
      const result = spawnSync('sh', ['-c', run], {
        cwd: at(into, workdir),
        encoding: 'utf8',
        // The pinned Node 24 runs npm and the build; packages come from npm's cache when it has them.
        env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }
      })
      if (result.status !== 0) throw new Error(`${name}: RUN ${run} failed:\n${result.stdout}\n${result.stderr}`)
    }
  })
  return dir
}

const trees = new Map<ImageName, ImageTree>()

/** The image's file tree, rebuilt when any of its inputs changed (kept under .cache between runs). */
export function buildImageTree (name: ImageName): ImageTree {
  const cached = trees.get(name)
  if (cached) return cached
  const report = image(name)
  const stageDirs = new Map<string, string>()
  report.stages.slice(0, -1).forEach((stage, index) => {
    stageDirs.set(stage.name || String(index), buildStage(name, stage, index, stageDirs))
  })
  const final = report.stages.at(-1)!
  const dir = join(work, `${name}-image-${hashOf(final, [JSON.stringify(final), JSON.stringify([...stageDirs])])}`)
  const tree = { dir, workdir: report.image.config.WorkingDir ?? '/' }
  trees.set(name, tree)
  prune(`${name}-image-`, dir)
  publish(dir, (into) => { copyInto(into, final, stageDirs, name) })
  return tree
}
