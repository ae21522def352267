import { Ajv, type ErrorObject } from 'ajv'
import { Type, type Static, type TObject, type TProperties } from 'typebox'

// Configuration comes only from the environment, validated once at start-up. A bad value stops
// the service with a message that names the variable, so an operator can fix it without reading code.

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false })

function describe (error: ErrorObject, env: Record<string, unknown>, schema: TObject): string {
  if (error.keyword === 'required') {
    return `${String(error.params['missingProperty'])} is required but not set`
  }
  if (error.keyword === 'additionalProperties') {
    return `${String(error.params['additionalProperty'])} is not a known setting`
  }
  const variable = error.instancePath.replace(/^\//, '').split('/')[0] ?? ''
  const raw = env[variable]
  // A pattern says little to an operator; a variable's description says what is expected.
  const expected = (schema.properties[variable] as { description?: unknown } | undefined)?.description
  const hint = typeof expected === 'string' ? ` (expected ${expected})` : ''
  return `${variable}=${JSON.stringify(raw)} is invalid: it ${error.message ?? 'does not match its schema'}${hint}`
}

/** Validates and coerces the variables the schema names; other variables are ignored. */
export function loadConfig<T extends TObject> (
  schema: T, env: Record<string, string | undefined>
): Readonly<Static<T>> {
  const picked: Record<string, unknown> = {}
  for (const name of Object.keys(schema.properties)) {
    const value = env[name]
    if (value !== undefined && value !== '') picked[name] = value
  }
  const validate = ajv.compile(schema)
  const original = { ...picked }
  if (!validate(picked)) {
    const problems = (validate.errors ?? []).map((e) => describe(e, original, schema))
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`)
  }
  return Object.freeze(picked) as Readonly<Static<T>>
}

export function envSchema<P extends TProperties> (properties: P): TObject<P> {
  return Type.Object(properties)
}

/** The settings every service shares: listening, logging, proxy trust. */
export const HttpEnv = {
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  // Only nginx may set X-Forwarded-For / X-Request-Id; this names its address(es).
  TRUST_PROXY: Type.String({ default: '127.0.0.1', minLength: 1 }),
  // The whole stop on SIGTERM, the drain included; past it the process exits regardless.
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 120_000, default: 10_000 }),
  // Out of rotation but still answering (app.drain, plugins/health.ts), before closing: longer than
  // the proxy's idle keep-alive timeout for upstreams (nginx/: 4 s), shorter than the grace.
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 5_000 }),
  // Fastify's "incoming request"/"request completed" pair. Off by default: nginx's access log
  // already has every request with its id, status and timings, and the pair costs two
  // synchronous writes per request (a quarter of a create's CPU). Errors, warnings and state
  // changes are logged regardless, with the request id.
  LOG_REQUESTS: Type.Boolean({ default: false }),
  // OTLP/HTTP base URL of a collector or Jaeger (e.g. http://127.0.0.1:4318); unset, no tracing is
  // loaded at all (common/src/tracing.ts).
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'an http(s):// URL' })),
  // For traces this process starts (loop passes, requests that bypass nginx); nginx decides for
  // the requests it forwards.
  TRACE_SAMPLE_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 0.01 })
}

export const CassandraEnv = {
  CASSANDRA_CONTACT_POINTS: Type.String({ default: '127.0.0.1:19042', pattern: '^[^,\\s]+(,[^,\\s]+)*$' }),
  CASSANDRA_LOCAL_DC: Type.String({ default: 'datacenter1', minLength: 1 }),
  CASSANDRA_KEYSPACE: Type.String({ default: 'shortwave', pattern: '^[a-z][a-z0-9_]{0,47}$' }),
  CASSANDRA_CONSISTENCY: Type.Union([Type.Literal('ONE'), Type.Literal('LOCAL_ONE'), Type.Literal('LOCAL_QUORUM'), Type.Literal('QUORUM')], { default: 'LOCAL_QUORUM' }),
  // Paxos of the key claims, leases and aliases. LOCAL_SERIAL decides within one datacenter; a
  // keyspace replicated to several datacenters that all create links needs SERIAL, or two
  // datacenters could each hand out the same key (docs/deploy.md).
  CASSANDRA_SERIAL_CONSISTENCY: Type.Union([Type.Literal('LOCAL_SERIAL'), Type.Literal('SERIAL')], { default: 'LOCAL_SERIAL' }),
  CASSANDRA_USERNAME: Type.Optional(Type.String()),
  CASSANDRA_PASSWORD: Type.Optional(Type.String()),
  CASSANDRA_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 })
}

export const RedisEnv = {
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:16379', pattern: '^rediss?://' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'sw:', pattern: '^[A-Za-z0-9:_.-]{0,32}$' }),
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 10_000, default: 250 })
}

/** The registry of custom domains each replica keeps in memory (domain-directory.ts). */
export const DomainEnv = {
  // The longest a replica that missed a change's announcement (pub/sub) serves the old registry.
  DOMAIN_RELOAD_MS: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 30_000 })
}

export const KeyEnv = {
  KEY_LENGTH: Type.Integer({ minimum: 6, maximum: 16, default: 7 })
}

export type HttpConfig = Static<TObject<typeof HttpEnv>>
export type TracingConfig = Pick<HttpConfig, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'TRACE_SAMPLE_RATIO'>
export type CassandraConfig = Static<TObject<typeof CassandraEnv>>
export type RedisConfig = Static<TObject<typeof RedisEnv>>
