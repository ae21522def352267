import { DependencyUnavailableError, InvalidUrlError, PrivateTargetError, UnresolvableTargetError } from './errors.ts'
import { lookalikeHostProblem } from './confusable-host.ts'
import { addressesNamedBy, localNameKind } from './named-addresses.ts'
import { networkList, specialAddressKind } from '@shortwave/common/special-addresses'
import type { ResolveHost } from './target-resolver.ts'

// Which URLs may be shortened. Everything is decided on the WHATWG parse — the parser browsers
// use when they follow the Location header — so no spelling of a host (case, trailing dot, hex IP,
// percent-encoding, Unicode) can slip past a check and mean something else in the browser. The URL
// is stored exactly as given, not re-serialised: re-encoding would break URLs whose bytes matter
// (signed URLs, servers that tell %27 from '), and the browser parses the same string we checked.
//
// One policy for every URL the service stores (link targets now; fallback URLs and webhook
// targets use the same createUrlPolicy). Targets on loopback, private, link-local, CGNAT,
// unique-local, metadata and other non-public addresses are refused (special-addresses.ts), in
// any spelling the parser accepts and in host names that spell them (named-addresses.ts), unless
// the operator allows the network or the host name. With a resolver, a host name must also
// resolve only to public addresses: a check at creation time, which a name whose DNS changes
// later (rebinding) still passes — a fetch made by this service must check again when it connects.

export const URL_MAX_LENGTH = 2048
/**
 * An http(s) scheme followed by both slashes, in any case. The WHATWG parser also reads
 * "http:example.com" as http://example.com/, but a browser resolves that Location against the
 * short link it came from when the schemes match (http://short.example/example.com), so only
 * the spelling with "//" means the same thing everywhere. Shared with the request schema.
 */
export const URL_SCHEME_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://'
const URL_SCHEME = new RegExp(URL_SCHEME_PATTERN)

export interface UrlPolicyOptions {
  /** The shortener's public base URL; its host (any port) is refused, links to it would loop. */
  publicBaseUrl: string
  /** Further host names that reach the shortener. */
  ownHosts?: readonly string[]
  /** Whether a (lower-case, punycode) host is a registered custom domain's: it reaches the shortener too. */
  isServedDomain?: (host: string) => boolean
  /** A host equal to one of these, or under it, is refused. */
  blockedDomains?: readonly string[]
  /** Networks (CIDRs or addresses) that may be targets although they are not public: ALLOWED_TARGET_NETWORKS. */
  allowedNetworks?: readonly string[]
  /** Host names that, with their subdomains, may be targets whatever they resolve to: ALLOWED_TARGET_HOSTS. */
  allowedHosts?: readonly string[]
  /** When given, every address a host name resolves to must be public or allowed too (RESOLVE_TARGETS). */
  resolveHost?: ResolveHost
}

/** Resolves to the URL to store (exactly the input), or rejects with a 4xx error saying what is wrong. */
/** Checks a URL the service would store; `field` (url by default) is named in the error's message. */
export type UrlPolicy = (input: string, field?: string) => Promise<string>

// Control characters, any kind of whitespace or separator, and invisible formatting characters
// (zero-width, bidi overrides): none belongs in a URL a person will click, CR/LF least of all.
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Z}\s]/u
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/
const ALLOW_HINT = 'an operator can allow internal networks with ALLOWED_TARGET_NETWORKS (CIDRs) and internal host names with ALLOWED_TARGET_HOSTS'

// An IPv4-mapped IPv6 literal as the WHATWG parser writes it ([::ffff:cb00:7107]): a dual-stack
// client reaches the IPv4 host 203.0.113.7 through it, so it is compared as that address.
const IPV4_MAPPED = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/

function unmapIPv4 (host: string): string {
  const mapped = IPV4_MAPPED.exec(host)
  if (!mapped) return host
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)]
  return [high >> 8, high & 255, low >> 8, low & 255].join('.')
}

/** A host name as the WHATWG parser normalises it, without trailing dots; null when it does not parse. */
export function canonicalHost (host: string): string | null {
  try {
    return unmapIPv4(new URL(`http://${host.trim()}/`).hostname.replace(/\.+$/, ''))
  } catch {
    return null
  }
}

function isAddress (host: string): boolean {
  return host.startsWith('[') || IPV4.test(host)
}

function describeCharacter (char: string): string {
  const code = char.codePointAt(0)!
  const names: Record<number, string> = { 0x09: 'a tab', 0x0a: 'a line feed', 0x0d: 'a carriage return', 0x20: 'a space', 0x00: 'a NUL character' }
  return names[code] ?? `the character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * What is wrong with a text holding a space, control or invisible character ("must not …; found …
 * at position n"); null when it holds none.
 */
export function invisibleCharacterProblem (input: string): string | null {
  const found = FORBIDDEN_CHARACTER.exec(input)
  return found ? `must not contain spaces or control characters; found ${describeCharacter(found[0])} at position ${found.index + 1}` : null
}

/** The text without its spaces, control and invisible characters. */
export function withoutInvisibleCharacters (input: string): string {
  return [...input].filter((char) => !FORBIDDEN_CHARACTER.test(char)).join('')
}

/** What is wrong with a host name; an allowed internal name may be a single label or end in any label. */
function hostProblem (host: string, internal: boolean): string | null {
  if (isAddress(host)) return null
  if (host.length > 253) return 'is longer than 253 characters'
  const labels = host.split('.')
  if (labels.length < 2 && !internal) return 'is not a public host name; use a full domain name such as example.com'
  if (!labels.every((label) => LABEL.test(label))) return 'is not a valid host name'
  if (!TLD.test(labels.at(-1)!) && !internal) return 'does not end in a valid top-level domain'
  return lookalikeHostProblem(host)
}

function hostSet (hosts: readonly string[], setting: string): Set<string> {
  return new Set(hosts.map((host) => {
    const canonical = canonicalHost(host)
    if (!canonical) throw new RangeError(`${setting}: "${host}" is not a host name`)
    return canonical
  }))
}

export function createUrlPolicy (opts: UrlPolicyOptions): UrlPolicy {
  const base = new URL(opts.publicBaseUrl)
  const ownHosts = hostSet([base.hostname, ...opts.ownHosts ?? []], 'OWN_HOSTS')
  // Locally the public host is localhost; its numeric spellings reach the same server.
  if (ownHosts.has('localhost')) for (const host of ['127.0.0.1', '[::1]']) ownHosts.add(host)
  const blocked = [...hostSet(opts.blockedDomains ?? [], 'BLOCKED_DOMAINS')]
  const allowedHosts = [...hostSet(opts.allowedHosts ?? [], 'ALLOWED_TARGET_HOSTS')]
  const inAllowedNetwork = networkList(opts.allowedNetworks ?? [])
  const { resolveHost } = opts

  function refuse (message: string): never {
    throw new InvalidUrlError(message)
  }

  function refusePrivate (what: string): never {
    throw new PrivateTargetError(`url must point to a public host: ${what}; ${ALLOW_HINT}`)
  }

  /** What kind of non-public address this is, unless its network is allowed; null for a public one. */
  function addressProblem (address: string): string | null {
    return inAllowedNetwork(address) ? null : specialAddressKind(address)
  }

  /** Why the host (not an allowed host name) cannot be a target without asking DNS; null when it may be. */
  function privateHostProblem (host: string): string | null {
    const shown = host.slice(0, 64)
    if (isAddress(host)) {
      const kind = addressProblem(host.replace(/^\[|\]$/g, ''))
      return kind && `${shown} is ${kind}`
    }
    const local = localNameKind(host)
    if (local) return `${shown} is ${local}`
    for (const address of addressesNamedBy(host)) {
      const kind = addressProblem(address)
      if (kind) return `${shown} resolves to ${address} by its name alone (wildcard DNS), which is ${kind}`
    }
    return null
  }

  async function checkResolved (host: string, resolve: ResolveHost): Promise<void> {
    const addresses = await resolve(host).catch((error: unknown) => {
      throw new DependencyUnavailableError('DNS', { cause: error })
    })
    const shown = host.slice(0, 64)
    if (addresses.length === 0) {
      throw new UnresolvableTargetError(`url host ${shown} has no address in DNS; this shortener only accepts names that resolve to public addresses (RESOLVE_TARGETS)`)
    }
    for (const address of addresses) {
      const kind = addressProblem(address)
      if (kind) refusePrivate(`${shown} resolves to ${address}, which is ${kind}`)
    }
  }

  return async function checkUrl (input: string, field = 'url'): Promise<string> {
    if (field === 'url') return checkTarget(input)
    // Another field under the same policy (fallbackUrl): the same errors and codes, naming it.
    return checkTarget(input).catch((error: unknown) => {
      if (error instanceof Error && (error as { statusCode?: number }).statusCode === 400) {
        error.message = error.message.startsWith('url') ? `${field}${error.message.slice(3)}` : `${field}: ${error.message}`
      }
      throw error
    })
  }

  async function checkTarget (input: string): Promise<string> {
    if (input.length === 0) refuse('url must not be empty')
    if (input.length > URL_MAX_LENGTH) refuse(`url is ${input.length} characters long; the limit is ${URL_MAX_LENGTH}`)
    const invisible = invisibleCharacterProblem(input)
    if (invisible) refuse(`url ${invisible}`)

    let url: URL
    try {
      url = new URL(input)
    } catch {
      return refuse('url must be an absolute URL starting with http:// or https:// and naming a host')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      refuse(`url must use http or https; "${url.protocol.slice(0, 32)}" links are not accepted`)
    }
    if (!URL_SCHEME.test(input)) refuse(`url must start with ${url.protocol}//; without both slashes a browser reads it relative to the short link`)
    if (url.username || url.password) refuse('url must not contain a user name or password (user:pass@); everyone who gets the link would see them')

    const host = url.hostname.replace(/\.+$/, '')
    if (!host) refuse('url must name a host')
    if (ownHosts.has(host) || opts.isServedDomain?.(host) === true) {
      refuse(`url points at this link shortener (${host}); a short link to it would loop`)
    }
    const reached = unmapIPv4(host)
    if (ownHosts.has(reached)) refuse(`url points at this link shortener (${host} is ${reached}); a short link to it would loop`)
    const internal = allowedHosts.some((domain) => host === domain || host.endsWith(`.${domain}`))
    const privateProblem = internal ? null : privateHostProblem(host)
    if (privateProblem) refusePrivate(privateProblem)
    const problem = hostProblem(host, internal)
    if (problem) refuse(`url host "${host.slice(0, 64)}" ${problem}`)
    const block = blocked.find((domain) => reached === domain || host.endsWith(`.${domain}`))
    if (block) refuse(`links to ${block} are not accepted`)
    if (resolveHost && !internal && !isAddress(host)) await checkResolved(host, resolveHost)

    return input
  }
}
