import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { Static, TObject } from 'typebox'
import { ConfigError, loadConfig, type HttpConfig } from './config.ts'
import { startTracing, type Tracing } from './tracing.ts'

/**
 * What every server.ts does: validate the environment, start tracing when it is configured, build
 * the app, drain on SIGTERM/SIGINT, listen. A configuration error stops the process with one line
 * naming the variable.
 */
export async function runService<S extends TObject> (
  service: string,
  schema: S,
  build: (config: Readonly<Static<S>>, tracing: Tracing | undefined) => Promise<FastifyInstance>,
  env: Record<string, string | undefined> = process.env
): Promise<void> {
  let config: Readonly<Static<S>>
  let app: FastifyInstance
  let tracing: Tracing | undefined
  try {
    config = loadConfig(schema, env)
    // build may reject settings a schema cannot express (one variable compared with another).
    const { SHUTDOWN_DRAIN_MS: drain, SHUTDOWN_GRACE_MS: grace } = config as unknown as HttpConfig
    if (drain >= grace) throw new ConfigError(`SHUTDOWN_DRAIN_MS (${drain}) must be shorter than SHUTDOWN_GRACE_MS (${grace})`)
    tracing = await startTracing(config as unknown as HttpConfig, service)
    app = await build(config, tracing)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 78 // EX_CONFIG
    return
  }
  const http = config as unknown as HttpConfig
  closeWithGrace({ delay: http.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else {
      app.log.info({ signal, drainMs: http.SHUTDOWN_DRAIN_MS }, 'shutting down: out of rotation, then draining requests')
      await app.drain(http.SHUTDOWN_DRAIN_MS)
    }
    await app.close()
    // Last: the spans of the drained requests and of the stores' shutdown are still exported.
    await tracing?.shutdown()
  })
  await app.listen({ host: http.HOST, port: http.PORT })
}
