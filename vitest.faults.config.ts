import { defineConfig } from 'vitest/config'

// Tests that stop and restart the shared Cassandra/Redis: one file at a time, after the main suite.
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false
  }
})
