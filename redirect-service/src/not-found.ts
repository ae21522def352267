import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String())
})

// Static, and never echoes the path: nothing from the request reaches the HTML. It borrows the
// web page's stylesheet (served by nginx on the same host) so it looks like the rest of the site.
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>Link not found · Shortwave</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/app.css"></head>
<body><main>
<h1>Link not found</h1>
<p>This short link does not exist, was deleted, or has expired.</p>
<p><a href="/">Shorten a link with Shortwave</a></p>
</main></body>
</html>
`

const GONE_PAGE = PAGE.replace('<title>Link not found', '<title>Link gone')
  .replace('<h1>Link not found</h1>', '<h1>Link gone</h1>')
  .replace('<p>This short link does not exist, was deleted, or has expired.</p>', '<p>This link has expired or reached its click limit.</p>')

export const GONE = 'This link has expired or reached its click limit'

/** A Host that is neither the default domain's nor a registered domain's. */
export const UNKNOWN_HOST = 'No short links are served on this host'

export const NOT_A_KEY = 'This is not a short link: keys are 3 to 64 letters, digits, "-" or "_"'

/** 404 for a browser (HTML page) or an API client (JSON error); never cached, the key may appear later. */
export function sendNotFound (reply: FastifyReply, accept: string | undefined, message: string, code = 'SW_LINK_NOT_FOUND'): void {
  reply.code(404).header('cache-control', 'no-store')
  if (accept !== undefined && accept.includes('text/html')) {
    reply.type('text/html; charset=utf-8').send(PAGE)
    return
  }
  reply.send({ statusCode: 404, error: 'Not Found', message, code })
}

/**
 * 410 for a link that expired or used up its maxClicks, in the shape of the 404. Not cached either:
 * its owner may still extend the expiry or raise the cap.
 */
export function sendGone (reply: FastifyReply, accept: string | undefined): void {
  reply.code(410).header('cache-control', 'no-store')
  if (accept !== undefined && accept.includes('text/html')) {
    reply.type('text/html; charset=utf-8').send(GONE_PAGE)
    return
  }
  reply.send({ statusCode: 410, error: 'Gone', message: GONE, code: 'SW_LINK_GONE' })
}
