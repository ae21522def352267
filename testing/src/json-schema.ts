// Test support: a JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1), for tests that
// check documents and examples against their schemas. The services' own Ajv validators are
// configured for requests, not for this.
import { Ajv2020 } from 'ajv/dist/2020.js'

export interface SchemaCheck {
  valid: boolean
  /** Ajv's errors, as text, when invalid. */
  errors: string
}

export function createSchemaChecker () {
  // Not strict: OpenAPI adds keywords of its own (example, discriminator, xml) to schemas.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  return function check (schema: object, value: unknown): SchemaCheck {
    const validate = ajv.compile(schema)
    const valid = validate(value)
    return { valid, errors: valid ? '' : ajv.errorsText(validate.errors) }
  }
}
