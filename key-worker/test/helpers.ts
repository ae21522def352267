import { loadConfig } from '@shortwave/common/config'
import type { TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../src/app.ts'
import { configSchema, type Config } from '../src/config.ts'

export function workerConfig (infra: TestInfra, env: Record<string, string> = {}): Config {
  return loadConfig(configSchema, { ...infra.env, ...env })
}

export async function buildWorker (
  infra: TestInfra,
  env: Record<string, string>,
  deps: AppDeps = {}
): Promise<FastifyInstance> {
  return buildApp(workerConfig(infra, env), { cassandra: infra.cassandra, redis: infra.redis, logger: false, ...deps })
}

/** Sum of a metric's values (all label sets) on the app's own registry. */
export async function metricValue (app: FastifyInstance, name: string): Promise<number> {
  const metric = app.metrics.getSingleMetric(name)
  if (!metric) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  return values.reduce((sum, v) => sum + v.value, 0)
}

export interface KeyRow {
  key: string
  state: string
  claimedBy: string
}

export async function linkRows (infra: TestInfra): Promise<Map<string, KeyRow>> {
  const rows = new Map<string, KeyRow>()
  const result = await infra.cassandra.execute('SELECT key, state, claimed_by FROM links', [], { prepare: true, fetchSize: 5000 })
  for await (const row of result) {
    const key = row['key'] as string
    rows.set(key, { key, state: row['state'] as string, claimedBy: row['claimed_by'] as string })
  }
  return rows
}

export { waitFor } from '@shortwave/testing/wait-for'
