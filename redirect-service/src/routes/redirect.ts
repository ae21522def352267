import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DependencyUnavailableError } from '@shortwave/common/errors'
import { canBeKey } from '@shortwave/common/keys'
import type { LinkRules } from '@shortwave/common/link-rules'
import { Type } from 'typebox'
import { cacheControlFor, type RedirectStatus } from '../cache-control.ts'
import type { ClickCap } from '../click-cap.ts'
import type { HostTable, ServedDomain } from '../hosts.ts'
import { withForwardedQuery } from '../forward-query.ts'
import { judge, type Verdict } from '../lifecycle.ts'
import type { LinkResolver, ResolvedLink } from '../link-resolver.ts'
import type { RedirectOutcomes } from '../metrics.ts'
import { ErrorBody, NOT_A_KEY, UNKNOWN_HOST, sendGone, sendNotFound } from '../not-found.ts'

export interface RedirectRoutesOptions {
  resolver: LinkResolver
  status: RedirectStatus
  permanentMaxAgeSeconds: number
  /** Tallied here, read by /metrics (shortwave_redirects_total). */
  outcomes: RedirectOutcomes
  /** Counts the GETs of links with maxClicks, across replicas. */
  clickCap: Pick<ClickCap, 'next' | 'peek'>
  /** The request's Host → its domain (hosts.ts). */
  hosts: Pick<HostTable, 'lookup'>
  now?: () => number
}

// The answer of a link with rules may change at any moment (a cap reached, an edit, validFrom
// passing), so no browser or proxy keeps it.
const GOVERNED = 'private, max-age=0'

const NotFound = {
  description: 'Unknown or deleted key, a link disabled or not valid yet, or a path that cannot be a key',
  content: {
    'application/json': { schema: ErrorBody },
    'text/html': { schema: Type.String() }
  }
}

const Gone = {
  description: 'The link expired or reached its maxClicks (and has no fallbackUrl)',
  content: NotFound.content
}

const ToDomainPage = Type.Null({ description: 'A registered domain\'s rootRedirect (GET /) or notFoundRedirect (an unknown key)' })

const Redirect = Type.Null({ description: 'The Location header carries the stored URL: as stored when ASCII, else its WHATWG serialisation' })

/** GET and HEAD /{key} (Fastify adds HEAD for every GET); HEAD is never counted as a click. */
export const redirectRoutes: FastifyPluginAsyncTypebox<RedirectRoutesOptions> = async (app, opts) => {
  const { resolver, status, hosts } = opts
  const cacheControl = cacheControlFor(status, opts.permanentMaxAgeSeconds)
  const results = opts.outcomes
  const now = opts.now ?? Date.now

  type Answer = void | Promise<void>

  // `name` is the link's scoped key (domains.ts): the key on the default domain, host/key on another.
  // Clicks, the click cap and the caches know the link by it; messages show the key.
  function answer (
    request: FastifyRequest, reply: FastifyReply, name: string, link: ResolvedLink | null, site: ServedDomain
  ): Answer {
    if (link === null) return unknownKey(request, reply, name, site)
    // The hot path: a live link without rules checks nothing more (the resolver gives every expired
    // link rules, NO_RULES at least, so it never comes this way).
    if (link.rules !== null) return governed(request, reply, name, link as Governed)
    results.redirect++
    if (request.method === 'GET') app.clicks.record(name, request)
    reply.code(status).header('location', link.location).header('cache-control', cacheControl(link.expiresAt)).send()
  }

  type Governed = ResolvedLink & { rules: LinkRules }

  function unknownKey (request: FastifyRequest, reply: FastifyReply, name: string, site: ServedDomain): void {
    results.not_found++
    if (site.notFoundLocation !== null) return toDomainPage(reply, site.notFoundLocation)
    sendNotFound(reply, request.headers.accept, `No link with the key "${keyOf(name)}"`)
  }

  async function governed (request: FastifyRequest, reply: FastifyReply, key: string, link: Governed): Promise<void> {
    const { rules } = link
    const at = { now: now(), expiresAt: link.expiresAt }
    let verdict: Verdict = judge(rules, at)
    // Expired outranks exhausted, so an expired link needs no count (nor Redis).
    if (rules.maxClicks !== null && (verdict.kind === 'target' || verdict.reason !== 'expired')) {
      // Only a GET that would go to the target uses up a click; anything else just looks.
      const counts = request.method === 'GET' && verdict.kind === 'target'
      verdict = judge(rules, { ...at, clickNumber: await clickNumber(key, rules.maxClicks, counts) })
    }
    if (verdict.kind === 'unavailable') {
      results.not_found++
      if (verdict.status === 410) sendGone(reply, request.headers.accept)
      else sendNotFound(reply, request.headers.accept, `No link with the key "${keyOf(key)}"`)
      return
    }
    results.redirect++
    if (request.method === 'GET') app.clicks.record(key, request)
    if (verdict.kind === 'fallback') {
      reply.code(302).header('location', link.fallbackLocation).header('cache-control', 'no-store').send()
      return
    }
    const location = rules.forwardQuery ? withForwardedQuery(link.location, rawQuery(request.raw.url)) : link.location
    reply.code(rules.redirectStatus ?? status).header('location', location).header('cache-control', GOVERNED).send()
  }

  /** The click's number among the capped link's GETs; without Redis no promise about it can be kept. */
  async function clickNumber (key: string, cap: number, counts: boolean): Promise<number> {
    try {
      return await (counts ? opts.clickCap.next(key, cap) : opts.clickCap.peek(key))
    } catch (cause) {
      throw new DependencyUnavailableError('Redis', { cause })
    }
  }

  function notAKey (request: FastifyRequest, reply: FastifyReply): void {
    results.invalid++
    sendNotFound(reply, request.headers.accept, NOT_A_KEY)
  }

  function unknownHost (request: FastifyRequest, reply: FastifyReply): void {
    results.invalid++
    sendNotFound(reply, request.headers.accept, UNKNOWN_HOST, 'SW_DOMAIN_NOT_FOUND')
  }

  app.get('/:key', {
    schema: {
      params: Type.Object({ key: Type.String() }),
      // The service's status, a link's own redirectStatus, or 302 to a link's fallbackUrl.
      response: {
        301: Redirect,
        302: Type.Union([Redirect, ToDomainPage]),
        307: Redirect,
        308: Redirect,
        404: NotFound,
        410: Gone,
        500: ErrorBody,
        503: ErrorBody
      }
    }
  }, (request, reply) => {
    const { key } = request.params
    // One Map lookup (hosts.ts); a host served by no domain never reaches Redis or Cassandra.
    const site = hosts.lookup(request.headers.host)
    if (site === null) return unknownHost(request, reply)
    // Decided from the path alone: scanners and typos never reach Redis or Cassandra.
    if (!canBeKey(key)) return notAKey(request, reply)
    const name = site.domain === '' ? key : `${site.domain}/${key}`
    const local = resolver.cached(name)
    if (local !== undefined) return answer(request, reply, name, local, site)
    // Only a local miss waits, and only for the lookup; clicks are recorded in memory.
    return resolver.resolve(name).then((link) => answer(request, reply, name, link, site))
  })

  // A registered domain's home page: its rootRedirect. nginx serves the web page on the default
  // domain's names itself and sends "/" of every other host here.
  app.get('/', { schema: { response: { 302: ToDomainPage, 404: NotFound } } }, (request, reply) => {
    const site = hosts.lookup(request.headers.host)
    if (site === null) return unknownHost(request, reply)
    if (site.rootLocation === null) return notAKey(request, reply)
    toDomainPage(reply, site.rootLocation)
  })

  // "/a/b", "/key/": nothing that can be a key, answered like an unknown key.
  app.get('/*', { schema: { response: { 404: NotFound } } }, (request, reply) => notAKey(request, reply))
}

function rawQuery (url: string | undefined): string {
  const at = url?.indexOf('?') ?? -1
  return at === -1 ? '' : url!.slice(at + 1)
}

/** A domain's own page (rootRedirect, notFoundRedirect): its settings may change any time, so never cached. */
function toDomainPage (reply: FastifyReply, location: string): void {
  reply.code(302).header('location', location).header('cache-control', 'no-store').send()
}

/** The key of a scoped key (domains.ts, parseScopedKey), for messages. */
function keyOf (name: string): string {
  return name.slice(name.indexOf('/') + 1)
}
