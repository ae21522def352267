import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ForbiddenError, ImportTooLargeError, UnsupportedMediaTypeError } from '@shortwave/common/errors'
import type { StoredLink } from '@shortwave/common/link-repository'
import type { FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { requireCaller } from '../caller.ts'
import { exportLinks, type ExportOptions } from '../export/export-links.ts'
import type { ExportedLink } from '../export/link-rows.ts'
import type { ImportJobs } from '../import/import-jobs.ts'
import type { Framing } from '../import/read-upload.ts'
import type { ValidatorSource } from '../import/wiring.ts'
import {
  ErrorsQuery, ExportFile, ExportQuery, ImportErrorsBody, ImportJobBody, ImportParams, ImportQuery, toErrorsBody,
  toJobBody
} from '../import/schemas.ts'
import type { QuotaPolicy } from '../quota.ts'
import { ErrorResponses, PAGE_DEFAULT, toLinkBody, type ShortUrls } from '../schemas.ts'
import { limitAsNumber } from './links.ts'

// Import and export of links (design.md, "Import / export"). Import bodies are CSV or NDJSON,
// handed to the job as the request stream (their parsers below buffer nothing); every other body
// type stays refused with 415 as in the rest of the API.

export interface ImportRoutesOptions {
  jobs: ImportJobs
  /** Given this context's validator compiler, for the rows (import/wiring.ts). */
  compiler: ValidatorSource
  repo: ExportOptions['repo']
  /** Without a trailing slash. */
  publicBaseUrl: string
  urls: ShortUrls
  /** The largest upload; its Content-Length is checked before a byte is read. */
  maxBytes: number
  quotas: Record<'create' | 'read', QuotaPolicy>
}

const withKey: Array<Record<string, string[]>> = [{ apiKey: [] }]

const FRAMINGS: Record<string, Framing> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson' }
const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8' } as const

function framingOf (request: FastifyRequest): Framing {
  const type = String(request.headers['content-type'] ?? 'none').split(';')[0]!.trim().toLowerCase()
  const framing = FRAMINGS[type]
  if (framing === undefined) {
    throw new UnsupportedMediaTypeError(`Content-Type ${type.slice(0, 100)} is not an import; send text/csv or application/x-ndjson`)
  }
  return framing
}

const importRoutes: FastifyPluginAsyncTypebox<ImportRoutesOptions> = async (app, opts) => {
  const { jobs, publicBaseUrl, quotas } = opts

  // The body goes to the handler as the stream it is; readUpload counts its bytes.
  app.addContentTypeParser(Object.keys(FRAMINGS), (_request, payload, done) => { done(null, payload) })
  app.addHook('onRequest', app.identifyCaller)
  opts.compiler.compile = (route) => app.validatorCompiler!(route)

  const exported = (link: StoredLink, clicks: number): ExportedLink => ({ ...toLinkBody(link, opts.urls), clicks })

  app.get('/api/v1/links/export', {
    onRequest: [requireCaller('export links'), quotas.read.chargeOne],
    schema: {
      summary: 'Export your links with their clicks',
      description: 'Streamed, newest first: every field a create accepts, the short URL, createdAt and clicks. Expired links ' +
        'are included, deleted ones not. An admin key exports its own links, or those of the API key named by ?owner=.',
      tags: ['import/export'],
      security: withKey,
      querystring: ExportQuery,
      response: { 200: ExportFile, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const caller = request.caller!
    const owner = request.query.owner ?? caller.id
    if (owner !== caller.id && caller.role !== 'admin') {
      throw new ForbiddenError('owner: only an admin key may export the links of another API key')
    }
    const format = request.query.format ?? 'csv'
    const chunks = await exportLinks({ repo: opts.repo, present: exported }, owner, format)
    const day = new Date().toISOString().slice(0, 10)
    return reply.type(CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="shortwave-links-${day}.${format === 'csv' ? 'csv' : 'ndjson'}"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(chunks))
  })

  app.post('/api/v1/links/import', {
    // One unit of the create quota for the whole upload: its rows go at the job's own pace
    // (IMPORT_CONCURRENCY), one import per API key at a time.
    onRequest: [requireCaller('import links'), quotas.create.chargeOne],
    preValidation: async (request) => {
      framingOf(request)
      const length = Number(request.headers['content-length'] ?? 0)
      if (length > opts.maxBytes) throw new ImportTooLargeError(`an import may hold at most ${opts.maxBytes} bytes; split the file`)
    },
    schema: {
      summary: 'Import links from a file',
      description: 'Body: CSV (text/csv) with a header row, or NDJSON (application/x-ndjson): Shortwave\'s export, or the export ' +
        'of Bitly, YOURLS, Kutt or Shlink. Answers 202 with the job once the file is read; rows are created like single ' +
        'creates, in the background. Rows imported before by the same API key are skipped, so sending a file again creates ' +
        'nothing new. One import per API key at a time (409 otherwise).',
      tags: ['import/export'],
      security: withKey,
      consumes: ['text/csv', 'application/x-ndjson'],
      querystring: ImportQuery,
      response: { 202: ImportJobBody, ...ErrorResponses }
    }
  }, async (request, reply) => {
    const body = request.body as Readable
    const { format } = request.query
    const job = await jobs.start({ caller: request.caller!, body, framing: framingOf(request), format })
    reply.header('location', `${publicBaseUrl}/api/v1/imports/${job.id}`)
    return reply.code(202).send(toJobBody(job))
  })

  app.get('/api/v1/imports/:id', {
    onRequest: [requireCaller('read imports'), quotas.read.chargeOne],
    schema: {
      summary: 'Progress of an import',
      description: 'Only the API key that sent the import, or an admin key.',
      tags: ['import/export'],
      security: withKey,
      params: ImportParams,
      response: { 200: ImportJobBody, ...ErrorResponses }
    }
  }, async (request) => toJobBody(await jobs.get(request.params.id, request.caller!)))

  app.get('/api/v1/imports/:id/errors', {
    onRequest: [requireCaller('read imports'), quotas.read.chargeOne],
    preValidation: limitAsNumber,
    schema: {
      summary: 'Rows of an import that failed',
      description: 'In line order, each with the field at fault and the message a single create would have given. Only the ' +
        'API key that sent the import, or an admin key.',
      tags: ['import/export'],
      security: withKey,
      params: ImportParams,
      querystring: ErrorsQuery,
      response: { 200: ImportErrorsBody, ...ErrorResponses }
    }
  }, async (request) => {
    const { id } = request.params
    const page = await jobs.errors(id, request.caller!, request.query.cursor, request.query.limit ?? PAGE_DEFAULT)
    return toErrorsBody(id, page)
  })
}

export default importRoutes
