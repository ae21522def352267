import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// npm run test:cluster (scripts/faults.sh cluster): three Cassandra nodes of its own, RF 3. Its
// files end in .cluster.ts, so neither `npm test` config picks them up.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/cluster/**/*.cluster.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false
  }
})
