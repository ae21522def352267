// wrk as the benchmarks run it: one request script plus report.lua, whose JSON line carries the
// figures (latency percentiles in wrk's microseconds). Shared by bench.ts and ab.ts.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const BENCH = import.meta.dirname

export interface Figures {
  rps: number
  /** CPU time of the serving processes (not the load generator) per request, microseconds. */
  cpuUs?: number
  p50: number
  p95: number
  p99: number
  requests: number
  errors: number
  non2xx3xx?: number
}

export interface WrkOptions {
  script?: string
  /** Lua loaded before the script (e.g. trace-context.lua). */
  prelude?: string
  env?: Record<string, string>
  seconds: number
  connections: number
  threads: number
  /** Where the combined script is written. */
  workDir: string
}

export function runWrk (url: string, opts: WrkOptions): Figures {
  const scripts = [opts.prelude, opts.script, join(BENCH, 'report.lua')].filter(Boolean) as string[]
  // wrk takes one script: the report function is appended to the request script.
  const combined = join(opts.workDir, `wrk-${scripts.map((s) => s.split('/').pop()).join('+')}`)
  writeFileSync(combined, scripts.map((s) => readFileSync(s, 'utf8')).join('\n'))
  const out = execFileSync('wrk', ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--timeout', '5s', '-s', combined, url], {
    env: { ...process.env, WRK_THREADS: String(opts.threads), ...opts.env },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024
  })
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (!line) throw new Error(`wrk printed no figures:\n${out}`)
  const r = JSON.parse(line.slice('BENCH_JSON '.length))
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p95: r.p95 / 1000,
    p99: r.p99 / 1000,
    requests: r.requests,
    errors: r.connect + r.read + r.write + r.timeout + r.status,
    non2xx3xx: non ? Number(non[1]) : 0
  }
}

export function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

// Throughput on a shared 2-core machine moves with whatever else runs; the CPU time the server
// processes spend per request hardly does. It is the figure to compare code changes by.

export const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** utime + stime of the processes, in clock ticks. */
export function cpuTicks (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {}
  }
  return ticks
}
