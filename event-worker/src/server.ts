import { runService } from '@shortwave/common/run-service'
import { buildApp } from './app.ts'
import { configSchema } from './config.ts'

await runService('event-worker', configSchema, (config, tracing) => buildApp(config, { tracing }))
