import { runService } from '@shortwave/common/run-service'
import { buildApp } from './app.ts'
import { configSchema } from './config.ts'

await runService('create-service', configSchema, (config, tracing) => buildApp(config, { tracing }))
