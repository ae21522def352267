import { randomBytes } from 'node:crypto'

// Webhook signing secrets in the Standard Webhooks form: "whsec_" and the base64 of the key bytes.
// The spec asks for 24 to 64 random bytes; a generated one has 32.

export const SECRET_PREFIX = 'whsec_'
export const SECRET_MIN_BYTES = 24
export const SECRET_MAX_BYTES = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function generateSecret (): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`
}

/** What is wrong with a secret a client chose ("secret must …"); null when it is a good one. */
export function secretProblem (secret: string): string | null {
  const form = `secret must be "${SECRET_PREFIX}" followed by the base64 of ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} random bytes; leave it out to get a generated one`
  if (!secret.startsWith(SECRET_PREFIX)) return form
  const encoded = secret.slice(SECRET_PREFIX.length)
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return form
  const bytes = Buffer.from(encoded, 'base64').length
  return bytes >= SECRET_MIN_BYTES && bytes <= SECRET_MAX_BYTES ? null : form
}
