import { defineConfig, type ViteUserConfig } from 'vitest/config'

// Every test of the repository, as named projects: one folder each, every file `*.test.ts`.
// The main run (`npm run vitest`, inside `npm test` and `npm run test:quick`) is all but the last
// three, in parallel; `--project <name>` picks any of them (README: Development).
//
// The main run talks to the real Cassandra and Redis that `npm run infra` keeps up. Each test file
// works in its own keyspace and Redis key prefix (@shortwave/testing), so files may run in parallel.
const main = { testTimeout: 60_000, hookTimeout: 120_000 }
// One file at a time: each stops, kills or starts processes that no other file may share.
const alone = { fileParallelism: false }

const workspaces = ['common', 'create-service', 'redirect-service', 'key-worker', 'event-worker']

// npm test runs vitest several times (main run, infra-stop, faults, cluster) and closes with one
// count over all of them (scripts/test.ts): each run leaves its JSON results in this folder.
const resultsDir = process.env['SW_VITEST_RESULTS_DIR']
const reporters: NonNullable<ViteUserConfig['test']>['reporters'] = resultsDir === undefined
  ? ['default']
  : ['default', ['json', { outputFile: `${resultsDir}/${Date.now()}-${process.pid}.json` }]]

const folder = (name: string, include: string[], options: object = main) => ({
  extends: true,
  test: { name, include, ...options }
})

export default defineConfig({
  test: {
    pool: 'forks',
    reporters,
    projects: [
      // Each workspace's own tests: its domain functions and its app through inject() or a listener.
      ...workspaces.map((ws) => folder(ws, [`${ws}/test/**/*.test.ts`])),
      // The three services in this process, against each other (and a real nginx where it matters).
      folder('stack', ['tests/*.test.ts', 'tests/security/**/*.test.ts']),
      // The edge alone: nginx on the shared configuration in front of stand-in upstreams.
      folder('nginx', ['tests/nginx/**/*.test.ts']),
      // The Dockerfiles, compose and Kubernetes files, validated and the images' trees replayed.
      folder('deploy', ['tests/deploy/**/*.test.ts']),
      // The shell scripts' pieces that are tested on their own.
      folder('scripts', ['tests/scripts/**/*.test.ts']),
      // The Prometheus rules (promtool check and unit tests), their runbooks, the Kubernetes component,
      // and the Grafana dashboards built from observability/dashboards/, checked against the services' metrics.
      folder('observability', ['tests/observability/**/*.test.ts']),
      // The web page in Debian's Chromium.
      folder('browser', ['tests/browser/**/*.test.ts']),

      // Not in the main run: 100,000 links written, migrated and read back take minutes and most of
      // Cassandra, which the parallel files of the main run would feel (npm test runs it after them).
      folder('migration', ['tests/migration/**/*.test.ts'], { ...alone, testTimeout: 1_200_000, hookTimeout: 600_000 }),

      // Not in the main run. Stops the shared stack for real (Cassandra under load; npm start and
      // npm stop as a person runs them) or starts the services on their fixed ports (npm start --
      // --observe, the observability stack): after the main run (npm test).
      folder('infra-stop', ['tests/infra-stop/**/*.test.ts'], { ...alone, testTimeout: 240_000, hookTimeout: 240_000 }),
      // npm run test:faults and test:cluster (scripts/faults.ts): processes killed, paused and
      // stopped under load on Cassandra nodes and a Redis of their own.
      folder('faults', ['tests/faults/**/*.test.ts'], { ...alone, testTimeout: 900_000, hookTimeout: 300_000 }),
      folder('cluster', ['tests/cluster/**/*.test.ts'], { ...alone, testTimeout: 900_000, hookTimeout: 300_000 })
    ]
  }
})
