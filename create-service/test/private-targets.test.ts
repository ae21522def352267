import { describe, expect, it } from 'vitest'
import type { ResolveHost } from '@shortwave/common/target-resolver'
import { createUrlPolicy, type UrlPolicyOptions } from '@shortwave/common/url-policy'

// A production base URL, so loopback targets are refused as private, not as loops.
const policy = (opts: Partial<UrlPolicyOptions> = {}) => createUrlPolicy({ publicBaseUrl: 'https://sw.example', ...opts })
const checkUrl = policy()

const privateTarget = (message: RegExp) => expect.objectContaining({ code: 'SW_URL_PRIVATE_TARGET', statusCode: 400, message: expect.stringMatching(message) })

/** A resolver answering from a table, recording what it was asked; a missing name has no address. */
function fakeResolver (answers: Record<string, string[] | Error>): ResolveHost & { asked: string[] } {
  const asked: string[] = []
  return Object.assign(async (host: string) => {
    asked.push(host)
    const answer = answers[host] ?? []
    if (answer instanceof Error) throw answer
    return answer
  }, { asked })
}

describe('private and metadata targets', () => {
  const refusedAddresses: Array<[string, string, RegExp]> = [
    ['loopback', 'http://127.0.0.1/', /127\.0\.0\.1 is a loopback address/],
    ['loopback anywhere in 127/8', 'http://127.8.8.8:8080/x', /loopback/],
    ['the unspecified address', 'http://0.0.0.0/', /unspecified/],
    ['0 as a single integer', 'http://0/', /0\.0\.0\.0 is an unspecified address/],
    ['RFC 1918 10/8', 'http://10.0.0.1/', /10\.0\.0\.1 is a private network address/],
    ['RFC 1918 172.16/12, low end', 'http://172.16.5.4/', /private network/],
    ['RFC 1918 172.16/12, high end', 'https://172.31.255.255/', /private network/],
    ['RFC 1918 192.168/16', 'http://192.168.1.1/', /private network/],
    ['CGNAT 100.64/10, low end', 'http://100.64.0.1/', /carrier-grade NAT/],
    ['CGNAT 100.64/10, high end', 'http://100.127.255.255/', /carrier-grade NAT/],
    ['link-local', 'http://169.254.1.1/', /link-local/],
    ['the AWS/GCP/Azure metadata address', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
    ['the ECS credentials address', 'http://169.254.170.2/v2/credentials', /cloud metadata/],
    ['the Alibaba metadata address', 'http://100.100.100.200/latest/meta-data', /cloud metadata/],
    ['the Azure host address (public, listed by itself)', 'http://168.63.129.16/', /cloud metadata/],
    ['the AWS IPv6 metadata address', 'http://[fd00:ec2::254]/', /\[fd00:ec2::254\] is a cloud metadata address/],
    ['multicast', 'http://224.0.0.1/', /multicast/],
    ['reserved 240/4', 'http://240.0.0.1/', /reserved/],
    ['the broadcast address', 'http://255.255.255.255/', /broadcast/],
    ['IETF protocol assignments 192.0.0/24', 'http://192.0.0.8/', /reserved/],
    ['documentation TEST-NET-1', 'http://192.0.2.1/', /documentation/],
    ['documentation TEST-NET-2', 'http://198.51.100.1/', /documentation/],
    ['documentation TEST-NET-3', 'http://203.0.113.7/', /documentation/],
    ['benchmarking 198.18/15', 'http://198.19.255.1/', /benchmarking/],
    ['IPv6 loopback', 'http://[::1]/', /\[::1\] is a loopback address/],
    ['IPv6 loopback written out', 'http://[0:0:0:0:0:0:0:1]/', /loopback/],
    ['the IPv6 unspecified address', 'http://[::]/', /unspecified/],
    ['unique-local fd00::/8', 'http://[fd00::1]/', /unique-local/],
    ['unique-local fc00::/8', 'http://[fc00::1]/', /unique-local/],
    ['IPv6 link-local', 'http://[fe80::1]/', /link-local/],
    ['IPv6 site-local (deprecated)', 'http://[fec0::1]/', /site-local/],
    ['IPv6 multicast', 'http://[ff02::1]/', /multicast/],
    ['IPv6 documentation', 'http://[2001:db8::1]/', /documentation/],
    ['Teredo', 'http://[2001::1]/', /reserved/],
    // Every IPv4 spelling the WHATWG parser (and so a browser) reads as the same address.
    ['metadata in hex', 'http://0xa9fea9fe/', /169\.254\.169\.254 is a cloud metadata/],
    ['metadata as one decimal integer', 'http://2852039166/', /169\.254\.169\.254 is a cloud metadata/],
    ['metadata in octal', 'http://0251.0376.0251.0376/', /cloud metadata/],
    ['10.0.0.1 with an octal first part', 'http://012.0.0.1/', /10\.0\.0\.1 is a private/],
    ['192.168.1.1 in dotted hex', 'http://0xc0.0xa8.1.1/', /192\.168\.1\.1 is a private/],
    ['10.0.0.1 in two parts', 'http://10.1/', /10\.0\.0\.1 is a private/],
    ['192.168.1.1 in three parts', 'http://192.168.257/', /192\.168\.1\.1 is a private/],
    ['a private address with a trailing dot', 'http://10.0.0.1./', /private/],
    ['a private address with a port, over https', 'https://10.0.0.1:8443/x', /private/],
    ['a percent-encoded private address', 'http://10%2E0.0.1/', /10\.0\.0\.1 is a private/],
    // IPv6 spellings that reach an IPv4 address.
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/', /private/],
    ['IPv4-mapped metadata in hex', 'http://[::ffff:a9fe:a9fe]/', /cloud metadata/],
    ['IPv4-mapped private written out', 'http://[0:0:0:0:0:ffff:c0a8:101]/', /private/],
    ['IPv4-compatible (deprecated)', 'http://[::10.0.0.1]/', /reserved/],
    ['NAT64 of a private address', 'http://[64:ff9b::10.0.0.1]/', /private/],
    ['NAT64 of the metadata address', 'http://[64:ff9b::a9fe:a9fe]/', /cloud metadata/],
    ['local-use NAT64', 'http://[64:ff9b:1::1]/', /unique-local/],
    ['6to4 of the metadata address', 'http://[2002:a9fe:a9fe::1]/', /cloud metadata/],
    ['6to4 of loopback', 'http://[2002:7f00:1::]/', /loopback/]
  ]
  it.each(refusedAddresses)('refuses %s (%s)', async (_name, input, message) => {
    await expect(checkUrl(input)).rejects.toThrow(privateTarget(message))
  })

  const refusedNames: Array<[string, string, RegExp]> = [
    ['nip.io, dotted', 'https://127.0.0.1.nip.io/', /127\.0\.0\.1\.nip\.io resolves to 127\.0\.0\.1 .*loopback/],
    ['nip.io, dotted with a prefix', 'https://app.10.0.0.1.nip.io/', /resolves to 10\.0\.0\.1/],
    ['nip.io, dashed with a prefix', 'https://app-192-168-1-1.nip.io/', /resolves to 192\.168\.1\.1/],
    ['sslip.io, dashed', 'https://10-0-0-1.sslip.io/', /resolves to 10\.0\.0\.1/],
    ['sslip.io, dashed with a suffix', 'https://169-254-169-254-x.sslip.io/', /cloud metadata/],
    ['nip.io, hex', 'https://0a000001.nip.io/', /resolves to 10\.0\.0\.1/],
    ['nip.io, hex with a prefix', 'https://app-a9fea9fe.nip.io/', /cloud metadata/],
    ['sslip.io, IPv6 loopback', 'https://--1.sslip.io/', /resolves to ::1/],
    ['sslip.io, IPv6 link-local', 'https://fe80--1.sslip.io/', /link-local/],
    ['xip.io', 'http://100.64.0.1.xip.io/', /carrier-grade NAT/],
    ['any domain spelling a private address', 'https://169.254.169.254.attacker.example/', /cloud metadata/],
    ['a cloud-style machine name', 'https://ip-10-0-0-1.eu-west-1.compute.example/', /resolves to 10\.0\.0\.1/],
    ['in capitals with a trailing dot', 'https://APP.10.0.0.1.NIP.IO./', /resolves to 10\.0\.0\.1/],
    ['percent-encoded', 'https://10%2E0.0.1.nip.io/', /resolves to 10\.0\.0\.1/],
    ['localtest.me (every name is 127.0.0.1)', 'https://app.localtest.me/', /resolves to 127\.0\.0\.1/],
    ['lvh.me', 'http://lvh.me:3000/', /resolves to 127\.0\.0\.1/],
    ['localhost', 'http://localhost/', /localhost is a loopback name/],
    ['a .localhost name', 'http://app.localhost/', /loopback name/],
    ['a .local name (mDNS)', 'http://printer.local/', /\.local/],
    ['a .internal name (the GCP metadata name)', 'http://metadata.google.internal/computeMetadata/v1/', /\.internal/],
    ['a .home.arpa name', 'http://router.home.arpa/', /home network/]
  ]
  it.each(refusedNames)('refuses the name: %s (%s)', async (_name, input, message) => {
    await expect(checkUrl(input)).rejects.toThrow(privateTarget(message))
  })

  it('says which settings would allow a refused target', async () => {
    await expect(checkUrl('http://10.0.0.1/')).rejects.toThrow(/url must point to a public host: .*ALLOWED_TARGET_NETWORKS .*ALLOWED_TARGET_HOSTS/)
  })

  const nearMisses = [
    'http://8.8.8.8/', 'http://1.1.1.1/', 'http://9.255.255.255/', 'http://11.0.0.1/',
    'http://100.63.255.255/', 'http://100.128.0.0/', 'http://172.15.255.255/', 'http://172.32.0.1/',
    'http://192.167.255.255/', 'http://192.169.0.1/', 'http://169.255.0.1/', 'http://198.20.0.1/',
    'http://223.255.255.255/', 'http://126.255.255.255/', 'http://128.0.0.1/',
    'http://[2606:4700:4700::1111]/', 'http://[2001:4860:4860::8888]/', 'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::8.8.8.8]/', 'http://[2002:808:808::1]/',
    'https://8.8.8.8.nip.io/', 'https://app-1-1-1-1.sslip.io/', 'https://deadbeef.nip.io/', 'https://nip.io/',
    'https://web2.example.com/', 'https://1password.com/', 'https://123.example.com/', 'https://10.example.com/',
    'https://a.10.0.0.example.com/', 'https://2024-01-15.example.com/', 'https://v10-0-0-1x.example.com/',
    'https://0a000001.example.com/', 'https://a--b.example.com/', 'https://fe80--1.example.com/',
    'https://localhost.example.com/', 'https://local.example.com/', 'https://internal.example.com/',
    'https://mylvh.me/', 'https://localtest.me.example.com/'
  ]
  it.each(nearMisses)('accepts the public near miss %s', async (input) => {
    await expect(checkUrl(input)).resolves.toBe(input)
  })
})

describe('ALLOWED_TARGET_NETWORKS and ALLOWED_TARGET_HOSTS', () => {
  const intranet = policy({ allowedNetworks: ['10.0.0.0/8', 'fd12:3456::/48', '192.168.5.7'], allowedHosts: ['corp.example', 'wiki', 'localhost'] })

  it.each([
    'http://10.1.2.3/', 'http://012.1.2.3/', 'http://[::ffff:10.1.2.3]/', 'http://[64:ff9b::10.1.2.3]/', 'http://10.1.2.3.nip.io/',
    'http://[fd12:3456::1]/', 'http://192.168.5.7/', 'http://wiki/page', 'http://go.corp.example/x', 'http://CORP.example./',
    'http://localhost:3000/'
  ])('accepts %s', async (input) => {
    await expect(intranet(input)).resolves.toBe(input)
  })

  it.each([
    ['another private network', 'http://192.168.5.8/', /private/],
    ['a neighbouring IPv6 network', 'http://[fd12:3457::1]/', /unique-local/],
    ['the metadata address', 'http://169.254.169.254/', /cloud metadata/],
    ['a .local name not listed', 'http://printer.local/', /\.local/],
    ['a loopback address not listed (localhost is allowed as a name only)', 'http://127.0.0.1:3000/', /loopback/]
  ])('still refuses %s', async (_name, input, message) => {
    await expect(intranet(input)).rejects.toThrow(privateTarget(message))
  })

  it('still refuses a one-label name that is not allowed, as not a public name', async () => {
    await expect(intranet('http://wiki2/')).rejects.toThrow(expect.objectContaining({ code: 'SW_INVALID_URL', message: expect.stringMatching(/full domain name/) }))
  })

  it('never lets an allowed network reach the shortener itself', async () => {
    const local = createUrlPolicy({ publicBaseUrl: 'http://localhost:8080', allowedNetworks: ['127.0.0.0/8'] })
    await expect(local('http://127.0.0.1:8080/x')).rejects.toThrow(/loop/)
    await expect(local('http://127.0.0.2:3000/x')).resolves.toBe('http://127.0.0.2:3000/x')
  })

  it.each([['10.0.0.0/33'], ['10.0.0.300/8'], ['fd00::/129'], ['example.com'], ['10.0.0.0/x']])('refuses the network %s when it is built', (entry) => {
    expect(() => policy({ allowedNetworks: [entry] })).toThrow(RangeError)
  })
})

describe('resolving target names (RESOLVE_TARGETS)', () => {
  it('accepts a name whose addresses are all public', async () => {
    const resolveHost = fakeResolver({ 'example.com': ['93.184.216.34', '2606:2800:220:1::1'] })
    await expect(policy({ resolveHost })('https://example.com/x')).resolves.toBe('https://example.com/x')
    expect(resolveHost.asked).toEqual(['example.com'])
  })

  it.each([
    ['an A record on a private network', ['93.184.216.34', '10.0.0.7'], /rebind\.example resolves to 10\.0\.0\.7, which is a private network address/],
    ['an AAAA record on loopback', ['93.184.216.34', '::1'], /resolves to ::1, which is a loopback address/],
    ['an IPv4-mapped metadata address', ['::ffff:169.254.169.254'], /cloud metadata/]
  ])('refuses a name with %s', async (_name, addresses, message) => {
    const resolveHost = fakeResolver({ 'rebind.example': addresses })
    await expect(policy({ resolveHost })('https://rebind.example/')).rejects.toThrow(privateTarget(message))
  })

  it('accepts a name that resolves into an allowed network', async () => {
    const resolveHost = fakeResolver({ 'git.example': ['10.0.0.7'] })
    await expect(policy({ resolveHost, allowedNetworks: ['10.0.0.0/24'] })('https://git.example/')).resolves.toBe('https://git.example/')
  })

  it('refuses a name without any address with 400 SW_URL_UNRESOLVABLE', async () => {
    await expect(policy({ resolveHost: fakeResolver({}) })('https://not-there.example/'))
      .rejects.toThrow(expect.objectContaining({ code: 'SW_URL_UNRESOLVABLE', statusCode: 400, message: expect.stringMatching(/not-there\.example has no address in DNS/) }))
  })

  it('answers 503 when DNS cannot answer, so the client retries', async () => {
    const timeout = Object.assign(new Error('queryA ETIMEOUT slow.example'), { code: 'ETIMEOUT' })
    await expect(policy({ resolveHost: fakeResolver({ 'slow.example': timeout }) })('https://slow.example/'))
      .rejects.toThrow(expect.objectContaining({ code: 'SW_DEPENDENCY_UNAVAILABLE', statusCode: 503, cause: timeout }))
  })

  it('resolves neither address literals, allowed hosts, nor names already refused', async () => {
    const resolveHost = fakeResolver({})
    const check = policy({ resolveHost, allowedHosts: ['corp.example'] })
    await expect(check('http://93.184.216.34/')).resolves.toBe('http://93.184.216.34/')
    await expect(check('http://wiki.corp.example/')).resolves.toBe('http://wiki.corp.example/')
    await expect(check('http://10.0.0.1.nip.io/')).rejects.toThrow(privateTarget(/10\.0\.0\.1/))
    expect(resolveHost.asked).toEqual([])
  })
})
