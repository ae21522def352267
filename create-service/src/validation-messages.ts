import type { FastifySchemaValidationError } from 'fastify'
import { invisibleCharacterProblem, withoutInvisibleCharacters } from '@shortwave/common/url-policy'

// Ajv speaks to programmers ("body must have required property 'url'"); API clients are often
// people. This turns the first schema error into a sentence naming the field and what it needs.
// Patterns cannot explain themselves, so a schema with a pattern carries a `description`
// ("3 to 64 letters, …") that the message quotes; Ajv's `verbose` option hands it over, and the
// value: one that fails only for a character nobody can see (" https://…") is told which.

type SchemaError = FastifySchemaValidationError & {
  data?: unknown
  parentSchema?: { description?: string, properties?: object }
}

function invisibleOnly (error: SchemaError): string | null {
  const value = typeof error.data === 'string' ? error.data : ''
  const problem = invisibleCharacterProblem(value)
  return problem && new RegExp(String(error.params['pattern']), 'u').test(withoutInvisibleCharacters(value)) ? problem : null
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a JSON array',
  null: 'null'
}

function fieldName (instancePath: string, dataVar: string): string {
  if (!instancePath) return dataVar === 'body' ? 'the request body' : dataVar
  return instancePath.slice(1).split('/').join('.')
}

function sentence (error: SchemaError, dataVar: string): string {
  const field = fieldName(error.instancePath, dataVar)
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required': {
      const missing = String(params['missingProperty'])
      return `${error.instancePath ? `${field}.` : ''}${missing} is required`
    }
    case 'additionalProperties': {
      const known = Object.keys(error.parentSchema?.properties ?? {})
      return `"${String(params['additionalProperty'])}" is not a known field` + (known.length ? `; the fields are ${known.join(', ')}` : '')
    }
    case 'type': {
      const types = String(params['type']).split(',').map((type) => TYPE_NAMES[type] ?? type)
      return `${field} must be ${types.join(' or ')}`
    }
    case 'maxLength': return `${field} must be at most ${String(params['limit'])} characters long`
    case 'minLength': return params['limit'] === 1 ? `${field} must not be empty` : `${field} must be at least ${String(params['limit'])} characters long`
    case 'minimum': return `${field} must be at least ${String(params['limit'])}`
    case 'maximum': return `${field} must be at most ${String(params['limit'])}`
    case 'maxItems': return `${field} must hold at most ${String(params['limit'])} items`
    case 'minItems': return `${field} must hold at least ${String(params['limit'])} item${params['limit'] === 1 ? '' : 's'}`
    case 'uniqueItems': return `${field} must not hold the same item twice`
    case 'minProperties': {
      const known = Object.keys(error.parentSchema?.properties ?? {})
      return `${field} must hold at least one field` + (known.length ? `: ${known.join(', ')}` : '')
    }
    case 'enum': return `${field} must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`
    case 'pattern': {
      const invisible = invisibleOnly(error)
      if (invisible) return `${field} ${invisible}`
      const description = error.parentSchema?.description
      return description ? `${field} must be ${description}` : `${field} is not in the expected format`
    }
    default: return `${field} ${error.message ?? 'is invalid'}`
  }
}

/** Fastify's `schemaErrorFormatter`: one human sentence for the first problem found. */
export function formatValidationErrors (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0] as SchemaError | undefined
  return new Error(first ? sentence(first, dataVar) : `the request ${dataVar} is invalid`)
}
