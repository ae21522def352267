import { ConfigError } from '@shortwave/common/config'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadWorkerConfig } from '../src/config.ts'

const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))

function configErrorOf (env: Record<string, string>): ConfigError {
  try {
    loadWorkerConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

function runServer (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [server], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stderr }))
  })
}

describe('key-worker configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadWorkerConfig({})
    expect(config).toMatchObject({
      PORT: 3004,
      KEY_LENGTH: 7,
      POOL_LOW_WATER: 5000,
      POOL_HIGH_WATER: 20_000,
      CLAIM_BATCH_SIZE: 100,
      CLAIM_CONCURRENCY: 4,
      REFILL_INTERVAL_MS: 250,
      CLICK_FOLD_INTERVAL_MS: 1000,
      OWNER_SWEEP_INTERVAL_SECONDS: 3600,
      OWNER_SWEEP_GRACE_SECONDS: 3600,
      OWNER_SWEEP_ROWS_PER_SECOND: 200
    })
    expect(config.WORKER_ID).toMatch(new RegExp(`-${process.pid}$`))
  })

  it.each([
    [{ KEY_LENGTH: 'abc' }, 'KEY_LENGTH'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ CLAIM_BATCH_SIZE: '501' }, 'CLAIM_BATCH_SIZE'],
    [{ CLAIM_CONCURRENCY: '0' }, 'CLAIM_CONCURRENCY'],
    [{ WORKER_ID: 'has space' }, 'WORKER_ID'],
    [{ POOL_LOW_WATER: '-1' }, 'POOL_LOW_WATER'],
    [{ OWNER_SWEEP_INTERVAL_SECONDS: 'hourly' }, 'OWNER_SWEEP_INTERVAL_SECONDS'],
    [{ OWNER_SWEEP_INTERVAL_SECONDS: '30' }, 'OWNER_SWEEP_INTERVAL_SECONDS'],
    [{ OWNER_SWEEP_INTERVAL_SECONDS: '-1' }, 'OWNER_SWEEP_INTERVAL_SECONDS'],
    [{ OWNER_SWEEP_GRACE_SECONDS: '5' }, 'OWNER_SWEEP_GRACE_SECONDS'],
    [{ OWNER_SWEEP_ROWS_PER_SECOND: '0' }, 'OWNER_SWEEP_ROWS_PER_SECOND'],
    [{ OWNER_SWEEP_ROWS_PER_SECOND: '100000' }, 'OWNER_SWEEP_ROWS_PER_SECOND']
  ])('rejects %j naming %s', (env, variable) => {
    expect(configErrorOf(env).message).toContain(variable)
  })

  it('rejects a high-water mark that is not above the low-water mark, naming both', () => {
    const message = configErrorOf({ POOL_LOW_WATER: '200', POOL_HIGH_WATER: '100' }).message
    expect(message).toContain('POOL_HIGH_WATER=100')
    expect(message).toContain('POOL_LOW_WATER=200')
    expect(configErrorOf({ POOL_LOW_WATER: '100', POOL_HIGH_WATER: '100' }).message).toContain('POOL_HIGH_WATER')
  })

  it('accepts a high-water mark above the low-water mark', () => {
    expect(loadWorkerConfig({ POOL_LOW_WATER: '100', POOL_HIGH_WATER: '101' }).POOL_HIGH_WATER).toBe(101)
  })

  it('turns the owner-index sweep off with an interval of 0', () => {
    expect(loadWorkerConfig({ OWNER_SWEEP_INTERVAL_SECONDS: '0' }).OWNER_SWEEP_INTERVAL_SECONDS).toBe(0)
    expect(loadWorkerConfig({ OWNER_SWEEP_INTERVAL_SECONDS: '60' }).OWNER_SWEEP_INTERVAL_SECONDS).toBe(60)
  })

  it('stops the real server with a non-zero exit and a message naming a bad variable', async () => {
    const { code, stderr } = await runServer({ KEY_LENGTH: 'abc' })
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(stderr).toContain('KEY_LENGTH')
  })

  it('stops the real server when the water marks contradict each other', async () => {
    const { code, stderr } = await runServer({ POOL_LOW_WATER: '500', POOL_HIGH_WATER: '10' })
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(stderr).toContain('POOL_HIGH_WATER')
    expect(stderr).toContain('POOL_LOW_WATER')
  })
})
