import { Type } from 'typebox'
import { ConfigError } from './config.ts'
import { networkList } from './special-addresses.ts'

// The settings of the URL policy (url-policy.ts) that create-service (link and webhook targets)
// and the event-worker (webhook targets again, at delivery) both read, validated alike.

// Host names as an operator writes them: names or IPv4 (optionally with a trailing dot) or a
// bracketed IPv6 literal, comma-separated. Anything else is a typo the service should refuse to start with.
export const HOST = '(?:[A-Za-z0-9_-]+(?:\\.[A-Za-z0-9_-]+)*\\.?|\\[[0-9A-Fa-f:.]+\\])'
export const HOST_LIST = `^\\s*(?:${HOST}(?:\\s*,\\s*${HOST})*)?\\s*$`

export const TargetEnv = {
  // What users see: short URLs and Location headers are built from it, and links to it are refused (loops).
  PUBLIC_BASE_URL: Type.String({
    default: 'http://localhost:8080',
    pattern: `^[Hh][Tt][Tt][Pp][Ss]?://${HOST}(?::[0-9]{1,5})?/?$`,
    description: 'an absolute http(s) URL without path or query, e.g. https://sw.example'
  }),
  // A host equal to, or a subdomain of, one of these is refused.
  BLOCKED_DOMAINS: Type.String({ default: '', pattern: HOST_LIST, description: 'comma-separated domain names, e.g. evil.example,spam.test' }),
  // What an intranet install (go links) may link to although it is not public; checkTargetEnv parses the networks.
  ALLOWED_TARGET_NETWORKS: Type.String({ default: '', pattern: '^[0-9A-Fa-f:./,\\s]*$', description: 'comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,fd12:3456::/48' }),
  ALLOWED_TARGET_HOSTS: Type.String({ default: '', pattern: HOST_LIST, description: 'comma-separated host names, each allowing itself and its subdomains, e.g. corp.example,wiki' }),
  RESOLVE_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 10_000, default: 1000 })
}

/** A comma-separated list setting as trimmed, non-empty entries. */
export function listSetting (value: string): string[] {
  return value.split(',').map((entry) => entry.trim()).filter(Boolean)
}

/** The rule a pattern cannot express: every allowed network parses. Throws a ConfigError naming the variable. */
export function checkTargetEnv (config: { ALLOWED_TARGET_NETWORKS: string }): void {
  try {
    networkList(listSetting(config.ALLOWED_TARGET_NETWORKS))
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ALLOWED_TARGET_NETWORKS=${JSON.stringify(config.ALLOWED_TARGET_NETWORKS)} is invalid: ${(error as Error).message} (expected comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,fd12:3456::/48)`)
  }
}
