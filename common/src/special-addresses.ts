import { BlockList, isIP, isIPv4 } from 'node:net'

// Addresses a link must not lead to unless an operator allows them: the ranges the IANA
// special-purpose registries mark as not globally reachable, and cloud metadata endpoints. A link
// there either leads nowhere for most people, or leads the person who clicks it (or a preview
// bot, or a webhook sender) into a network the link's author should not reach.
//
// The kinds are tried in order and the first match names the address in the message, so the
// narrow ones (metadata, loopback) come before the broad ones that contain them.
const KINDS: ReadonlyArray<{ what: string, networks: readonly string[] }> = [
  {
    what: 'a cloud metadata address',
    networks: [
      '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
      '169.254.170.2/32', // AWS ECS task credentials
      '169.254.170.23/32', // AWS EKS pod identity
      '100.100.100.200/32', // Alibaba Cloud
      '168.63.129.16/32', // Azure host (a public address, so listed by itself)
      '192.0.0.192/32', // Oracle Cloud
      'fd00:ec2::254/128', // AWS over IPv6
      'fd00:ec2::23/128' // AWS EKS pod identity over IPv6
    ]
  },
  { what: 'a loopback address', networks: ['127.0.0.0/8', '::1/128'] },
  { what: 'an unspecified address ("this host")', networks: ['0.0.0.0/8', '::/128'] },
  { what: 'a private network address (RFC 1918)', networks: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  { what: 'a shared carrier-grade NAT address (100.64.0.0/10)', networks: ['100.64.0.0/10'] },
  { what: 'a link-local address', networks: ['169.254.0.0/16', 'fe80::/10'] },
  { what: 'a unique-local or site-local IPv6 address', networks: ['fc00::/7', 'fec0::/10', '64:ff9b:1::/48'] },
  { what: 'a multicast address', networks: ['224.0.0.0/4', 'ff00::/8'] },
  { what: 'the broadcast address', networks: ['255.255.255.255/32'] },
  { what: 'a benchmarking address', networks: ['198.18.0.0/15', '2001:2::/48'] },
  { what: 'a documentation address', networks: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20'] },
  {
    what: 'a reserved address',
    networks: [
      '240.0.0.0/4', '192.0.0.0/24', '192.88.99.0/24',
      // IPv4-compatible IPv6 (deprecated), discard-only, Teredo (it hides the address it reaches).
      '::/96', '100::/64', '2001::/32'
    ]
  }
]

function split (cidr: string): [string, number] {
  const slash = cidr.lastIndexOf('/')
  if (slash === -1) return [cidr, isIPv4(cidr) ? 32 : 128]
  const prefix = cidr.slice(slash + 1)
  return [cidr.slice(0, slash), /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN]
}

// The two hex groups the WHATWG parser writes for an IPv4 address inside IPv6: ::ffff:a00:1 → a00, 1.
function ipv4Groups (ipv4: string): [string, string] {
  const [high, low] = new URL(`http://[::ffff:${ipv4}]/`).hostname.slice('[::ffff:'.length, -1).split(':')
  return [high ?? '0', low ?? '0']
}

/**
 * Adds a network, and for an IPv4 network also the IPv6 spellings that reach it: NAT64
 * (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::). IPv4-mapped addresses (::ffff:a.b.c.d)
 * BlockList already compares as the IPv4 address they map.
 */
function addNetwork (list: BlockList, cidr: string): void {
  const [address, prefix] = split(cidr)
  const family = isIP(address)
  if (family === 0) throw new RangeError(`"${cidr}" is not an IP address or network`)
  const max = family === 4 ? 32 : 128
  if (!Number.isInteger(prefix) || prefix > max) throw new RangeError(`"${cidr}" needs a prefix length from 0 to ${max}`)
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
  if (family === 4) {
    const [high, low] = ipv4Groups(address)
    list.addSubnet(`64:ff9b::${address}`, 96 + prefix, 'ipv6')
    list.addSubnet(`2002:${high}:${low}::`, 16 + prefix, 'ipv6')
  }
}

/** A set of networks (CIDRs, or single addresses) that answers "is this address in one of them". */
export function networkList (cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList()
  for (const cidr of cidrs) addNetwork(list, cidr)
  return (address) => {
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
}

const kinds = KINDS.map(({ what, networks }) => ({ what, contains: networkList(networks) }))

/**
 * What kind of non-public address this is ("a loopback address"), or null for a public one.
 * Takes a bare address (IPv6 without brackets), as the WHATWG parser or a resolver writes it.
 */
export function specialAddressKind (address: string): string | null {
  return kinds.find(({ contains }) => contains(address))?.what ?? null
}
