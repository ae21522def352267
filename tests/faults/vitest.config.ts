import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// npm run test:faults (scripts/faults.sh): the expensive fault suite, on a Cassandra node and a
// Redis of its own. Its files end in .faults.ts, so neither `npm test` config picks them up.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/faults/**/*.faults.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false
  }
})
