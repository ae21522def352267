import type { Readable } from 'node:stream'
import { Type, type Static } from 'typebox'
import { PAGE_DEFAULT, PAGE_MAX } from '../schemas.ts'
import type { ImportJob, RowError } from './import-store.ts'
import type { ErrorPage } from './import-jobs.ts'
import { IMPORT_FORMATS } from './read-upload.ts'

// Request and response shapes of import and export (routes/imports.ts).

export const ExportQuery = Type.Object({
  format: Type.Optional(Type.Enum(['csv', 'ndjson'], { default: 'csv', description: 'csv (the default) or ndjson' })),
  owner: Type.Optional(Type.String({
    pattern: '^[\\x21-\\x7e]{1,64}$',
    description: 'admin keys only: the id of the API key whose links to export (an admin\'s own by default)'
  }))
}, { additionalProperties: false })

export const ImportQuery = Type.Object({
  format: Type.Optional(Type.Enum([...IMPORT_FORMATS], {
    description: 'the file\'s layout: csv or ndjson (Shortwave\'s own, as the export writes it), bitly, yourls, kutt or shlink; ' +
      'told from the header row (the first object\'s names) when absent'
  }))
}, { additionalProperties: false })

export const ImportParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

export const ErrorsQuery = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'the nextCursor of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT, description: `errors per page, 1 to ${PAGE_MAX}` }))
}, { additionalProperties: false })

const exampleJob = {
  id: 'imp_3f9c2a7b1e0d4c5a6b7e8f90',
  status: 'running',
  layout: 'bitly',
  total: 1200,
  done: 640,
  created: 610,
  skipped: 27,
  failed: 3,
  createdAt: '2026-12-06T03:00:00.000Z',
  updatedAt: '2026-12-06T03:00:01.000Z',
  finishedAt: null
}

export const ImportJobBody = Type.Object({
  id: Type.String(),
  status: Type.Enum(['running', 'completed', 'interrupted'], {
    description: 'interrupted: the replica running it stopped or a store failed before every row was done; send the file again ' +
      'to finish it (the rows done are skipped)'
  }),
  layout: Type.String({ description: 'the layout the file was read as: shortwave, bitly, yourls, kutt or shlink' }),
  total: Type.Integer({ description: 'rows in the file' }),
  done: Type.Integer({ description: 'rows handled so far: created + skipped + failed' }),
  created: Type.Integer({ description: 'links created' }),
  skipped: Type.Integer({ description: 'rows imported before (by this API key) or repeated in the file: nothing new' }),
  failed: Type.Integer({ description: 'rows refused, each listed at /api/v1/imports/{id}/errors' }),
  createdAt: Type.String({ description: 'ISO-8601, UTC' }),
  updatedAt: Type.String({ description: 'ISO-8601, UTC: the last progress saved' }),
  finishedAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO-8601, UTC; null while running' })
}, {
  description: 'An import job',
  examples: [exampleJob, { ...exampleJob, status: 'completed', done: 1200, created: 1165, skipped: 27, failed: 8, finishedAt: '2026-12-06T03:00:02.000Z' }]
})

const RowErrorBody = Type.Object({
  line: Type.Integer({ description: 'the line of the file the row ends on (the header is line 1 in CSV)' }),
  field: Type.String({ description: 'the field at fault (url, key, domain, title, tags, expiresAt, …), or row for the row as a whole' }),
  message: Type.String(),
  code: Type.String({ description: 'the code a single create would have answered, e.g. SW_ALIAS_TAKEN' })
})

export const ImportErrorsBody = Type.Object({
  id: Type.String(),
  errors: Type.Array(RowErrorBody, { description: 'in line order' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page; null on the last page' })
}, {
  description: 'Rows of the import that failed and changed nothing',
  examples: [{
    id: exampleJob.id,
    errors: [
      { line: 4, field: 'url', message: 'url must point to a public host: 10.0.0.1 is a private network address (RFC 1918); an operator can allow internal networks with ALLOWED_TARGET_NETWORKS (CIDRs) and internal host names with ALLOWED_TARGET_HOSTS', code: 'SW_URL_PRIVATE_TARGET' },
      { line: 9, field: 'key', message: 'The alias "spring" is already taken; choose another one', code: 'SW_ALIAS_TAKEN' }
    ],
    nextCursor: null
  }]
})

export const ExportFile = {
  description: 'The links, streamed: CSV with a header row, or one JSON object a line',
  content: {
    'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string', examples: ['key,domain,shortUrl,url,title,tags,createdAt,expiresAt,validFrom,maxClicks,fallbackUrl,disabled,forwardQuery,redirectStatus,clicks\r\nspring-sale,,http://localhost:8080/spring-sale,https://example.com/sale,Spring sale,campaign|spring,2026-11-22T10:00:00.000Z,,,,,false,false,,42\r\n'] }) },
    'application/x-ndjson': {
      schema: Type.Unsafe<Readable>({
        type: 'string',
        examples: ['{"key":"spring-sale","domain":"","shortUrl":"http://localhost:8080/spring-sale","url":"https://example.com/sale",' +
          '"title":"Spring sale","tags":["campaign"],"createdAt":"2026-11-22T10:00:00.000Z","expiresAt":null,"validFrom":null,' +
          '"maxClicks":null,"fallbackUrl":null,"disabled":false,"forwardQuery":false,"redirectStatus":null,"clicks":42}\n']
      })
    }
  }
}

export function toJobBody (job: ImportJob): Static<typeof ImportJobBody> {
  return {
    id: job.id,
    status: job.status,
    layout: job.layout,
    total: job.total,
    done: job.done,
    created: job.created,
    skipped: job.skipped,
    failed: job.failed,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null
  }
}

export function toErrorsBody (id: string, page: ErrorPage): Static<typeof ImportErrorsBody> {
  return { id, errors: page.errors.map((e: RowError) => ({ ...e })), nextCursor: page.nextCursor }
}
