// Manages API keys: `npm run apikey -- create --name ci --role admin --rate unlimited`, `… list`,
// `… rate <id> 6000/min`, `… revoke <id>`;
// in a container image: `node create-service/src/cli/apikey.ts …`. It reads the Cassandra
// settings from the environment, like the services do.
import { CassandraEnv, ConfigError, envSchema, loadConfig } from '@shortwave/common/config'
import { createCassandraClient } from '@shortwave/common/plugins/cassandra'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { toApiKeyBody } from '../api-key-schemas.ts'
import {
  API_KEY_NAME_MAX, API_KEY_ROLES, createApiKeyRepository, isRole, isValidKeyName, keyRateFor, keyRateText,
  type ApiKey, type ApiKeyRole, type KeyRate
} from '../api-keys.ts'

export const configSchema = envSchema({ ...CassandraEnv })

const USAGE = `usage: npm run apikey -- <command>
  create --name <name> [--role user|admin] [--rate <rate>] [--json]
                                  create a key; its secret is printed once
  list [--json]                   every key, without secrets
  rate <id> <rate>                change a key's rate (within seconds)
  revoke <id>                     the key stops working within seconds
<rate>: creations per s, min, h or day (e.g. 600/min; reads get ten times as many),
  default (the service's API_KEY_RATE), or unlimited (admin keys only)`

export const EXIT = { ok: 0, notFound: 1, usage: 2, config: 78 } as const

class UsageError extends Error {}

/** A --rate value for a key of this role; throws a UsageError saying what is expected. */
export function parseKeyRate (text: string, role: ApiKeyRole): KeyRate {
  try {
    return keyRateFor(text, role)
  } catch (error) {
    throw new UsageError((error as RangeError).message)
  }
}

function row (key: ApiKey): string {
  const revoked = key.revokedAt === null ? '-' : key.revokedAt.toISOString()
  return [key.id, key.role.padEnd(5), keyRateText(key.rate).padEnd(13), key.createdAt.toISOString(), revoked.padEnd(24), key.name].join('  ')
}

/** Runs one command; returns the exit code. `out` receives what goes to stdout, `err` to stderr. */
export async function runApiKeyCommand (
  argv: string[],
  env: Record<string, string | undefined>,
  io: { out: (text: string) => void, err: (text: string) => void }
): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, role: { type: 'string', default: 'user' }, rate: { type: 'string', default: 'default' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } }
    })
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`)
    return EXIT.usage
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command === undefined) {
    (values.help === true ? io.out : io.err)(USAGE)
    return values.help === true ? EXIT.ok : EXIT.usage
  }

  let config
  try {
    config = loadConfig(configSchema, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.err(error.message)
    return EXIT.config
  }
  const client = createCassandraClient(config)
  try {
    const repo = createApiKeyRepository(client)
    switch (command) {
      case 'create': {
        if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`)
        const name = values.name
        if (name === undefined || !isValidKeyName(name)) throw new UsageError(`--name is required: 1 to ${API_KEY_NAME_MAX} printable characters, e.g. --name ci`)
        const role = values.role
        if (!isRole(role)) throw new UsageError(`--role must be one of ${API_KEY_ROLES.join(', ')}`)
        const rate = parseKeyRate(values.rate, role)
        await client.connect()
        const { key, secret } = await repo.create(name, role, rate)
        io.out(values.json
          ? JSON.stringify({ ...toApiKeyBody(key), secret })
          : `Created API key ${key.id} "${key.name}" (${key.role}, rate ${keyRateText(key.rate)}).\nIts secret is shown only this once; keep it somewhere safe:\n\n${secret}\n\nUse it as: Authorization: Bearer ${secret.slice(0, 6)}…`)
        return EXIT.ok
      }
      case 'list': {
        if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`)
        await client.connect()
        const keys = await repo.list()
        if (values.json) io.out(JSON.stringify(keys.map(toApiKeyBody)))
        else io.out(keys.length === 0 ? 'No API keys yet.' : [`${'id'.padEnd(19)}  role   ${'rate'.padEnd(13)}  ${'created'.padEnd(24)}  ${'revoked'.padEnd(24)}  name`, ...keys.map(row)].join('\n'))
        return EXIT.ok
      }
      case 'rate': {
        const [id, text, ...extra] = rest
        if (id === undefined || text === undefined || extra.length > 0) throw new UsageError('rate takes a key id and a rate, e.g. rate ak_0123456789abcdef 6000/min')
        await client.connect()
        const key = await repo.findById(id)
        const updated = key === null ? null : await repo.setRate(id, parseKeyRate(text, key.role))
        if (updated === null) {
          io.err(`No API key has the id ${id}; \`npm run apikey -- list\` shows them.`)
          return EXIT.notFound
        }
        io.out(`API key ${updated.id} "${updated.name}" now has the rate ${keyRateText(updated.rate)}. Services apply it within seconds.`)
        return EXIT.ok
      }
      case 'revoke': {
        const [id, ...extra] = rest
        if (id === undefined || extra.length > 0) throw new UsageError('revoke takes exactly one key id, e.g. revoke ak_0123456789abcdef')
        await client.connect()
        const key = await repo.revoke(id)
        if (key === null) {
          io.err(`No API key has the id ${id}; \`npm run apikey -- list\` shows them.`)
          return EXIT.notFound
        }
        io.out(`Revoked API key ${key.id} "${key.name}" (since ${key.revokedAt!.toISOString()}). Services stop accepting it within seconds.`)
        return EXIT.ok
      }
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.err(`${error.message}\n${USAGE}`)
    return EXIT.usage
  } finally {
    await client.shutdown()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const io = { out: (text: string) => console.log(text), err: (text: string) => console.error(text) }
  runApiKeyCommand(process.argv.slice(2), process.env, io).then(
    (code) => { process.exitCode = code },
    (error: unknown) => {
      console.error(error)
      process.exitCode = 1
    }
  )
}
