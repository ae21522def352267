import { defineConfig } from 'vitest/config'

// Tests talk to the real Cassandra and Redis that `npm test` starts. Each test file works in its
// own keyspace and Redis key prefix, so files may run in parallel.
export default defineConfig({
  test: {
    include: ['**/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'tests/faults/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks'
  }
})
