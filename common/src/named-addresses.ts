import { isIPv6 } from 'node:net'

// What a host name is known to resolve to without asking DNS. Wildcard DNS services answer for
// any name that spells an address with that address (10.0.0.1.nip.io, app-10-0-0-1.sslip.io),
// clouds name their machines the same way (ip-10-0-0-1.ec2.internal), and some names only ever
// resolve on the local machine or network. Taking the spelling at its word refuses these without
// a lookup; names that hide their address need RESOLVE_TARGETS (see url-policy.ts).
//
// The rule, for any host name: four labels in a row that are decimal numbers up to 255
// (a.10.0.0.1.example), or four such numbers joined by dashes inside a label, at its start or end
// or between dashes (ip-10-0-0-1.example), spell that IPv4 address. Under the wildcard services
// that also read other spellings, a label (or its last dash-separated part) of eight hex digits
// spells an IPv4 address (0a000001.nip.io), and a label that is an IPv6 address once its dashes
// are colons spells that address (fe80--1.sslip.io).

/** Names that only ever resolve on this machine or a local network, by standard or convention. */
const LOCAL_NAMES: ReadonlyArray<[suffix: string, what: string]> = [
  ['localhost', 'a loopback name (RFC 6761)'],
  ['local', 'a multicast DNS name that only resolves on the local network (.local)'],
  ['internal', 'a private-use name that only resolves inside a network (.internal)'],
  ['home.arpa', 'a home network name (.home.arpa)'],
  ['localdomain', 'a name for this machine (.localdomain)']
]

/** Public domains whose every name resolves to 127.0.0.1, made for local development. */
const LOOPBACK_DOMAINS = ['localtest.me', 'lvh.me', 'vcap.me', 'lacolhost.com', 'localho.st', 'fuf.me']

/** Wildcard DNS services that read hex and IPv6 spellings too. */
const WILDCARD_SERVICES = ['nip.io', 'sslip.io', 'xip.io', 'traefik.me', 'nip.direct']

const OCTET = /^\d{1,3}$/
const HEX_IPV4 = /^[0-9a-f]{8}$/

function isUnder (host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`)
}

/** The IPv4 addresses spelled by four octets in a row among `parts`. */
function octetRuns (parts: readonly string[]): string[] {
  const found: string[] = []
  for (let i = 0; i + 4 <= parts.length; i++) {
    const run = parts.slice(i, i + 4)
    if (run.every((part) => OCTET.test(part) && Number(part) <= 255)) found.push(run.map(Number).join('.'))
  }
  return found
}

/** Why a name only resolves locally ("a loopback name …"), or null. */
export function localNameKind (host: string): string | null {
  return LOCAL_NAMES.find(([suffix]) => isUnder(host, suffix))?.[1] ?? null
}

/**
 * The addresses a host name (lower case, no trailing dot, as the WHATWG parser writes it) spells
 * or is known to resolve to, by the rule above; empty for ordinary names.
 */
export function addressesNamedBy (host: string): string[] {
  if (LOOPBACK_DOMAINS.some((domain) => isUnder(host, domain))) return ['127.0.0.1']
  const labels = host.split('.')
  const found = [...octetRuns(labels), ...labels.flatMap((label) => octetRuns(label.split('-')))]
  if (WILDCARD_SERVICES.some((domain) => isUnder(host, domain))) {
    for (const label of labels) {
      const last = label.split('-').at(-1)!
      if (HEX_IPV4.test(last)) found.push(new URL(`http://0x${last}/`).hostname)
      const ipv6 = label.replaceAll('-', ':')
      if (isIPv6(ipv6)) found.push(ipv6)
    }
  }
  return found
}
