import type { LinkRepository } from '@shortwave/common/link-repository'
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify'
import type { Config } from '../config.ts'
import type { DomainService } from '../domain-service.ts'
import type { LinkService } from '../link-service.ts'
import { CreateLinkBody } from '../schemas.ts'
import { createImportJobs, type ImportJobs } from './import-jobs.ts'
import type { RowContext } from './import-row.ts'
import { createImportStore } from './import-store.ts'

// How import jobs reach the rest of create-service: a row is created by LinkService.createLink,
// checked first by the very validator of POST /api/v1/links.

export interface ImportDeps {
  links: Pick<LinkService, 'createLink'>
  repo: Pick<LinkRepository, 'find'>
  domains: Pick<DomainService, 'storedDomainOf' | 'hostOf'>
  compiler: ValidatorSource
}

/** Where the create body's validator is compiled from: set by the routes, used once the app runs. */
export interface ValidatorSource {
  compile: FastifySchemaCompiler<unknown>
}

export function createImports (app: FastifyInstance, config: Config, deps: ImportDeps): ImportJobs {
  // Compiled on the first row by the validator compiler of the routes' context (routes/imports.ts
  // hands it over): Fastify sets it up only once the app is ready.
  let compiled: RowContext['validate'] | undefined
  const validate: RowContext['validate'] = Object.assign((body: unknown): boolean => {
    compiled ??= deps.compiler.compile({ schema: CreateLinkBody, method: 'POST', url: '/api/v1/links', httpPart: 'body' }) as RowContext['validate']
    const valid = compiled(body)
    validate.errors = compiled.errors ?? null
    return valid
  }, { errors: null })
  return createImportJobs({
    store: createImportStore(app.cassandra),
    validate,
    // `domain` goes to createLink only for a domain other than the default, which checks that it is
    // registered (a row naming one that is not fails on `domain`, like a create).
    create: (body, domain, owner) => deps.links.createLink({
      ...body as unknown as Parameters<LinkService['createLink']>[0], ...(domain === '' ? {} : { domain }), owner
    }),
    ownerOf: async (domain, key) => (await deps.repo.find(key, domain))?.owner,
    resolveDomain: (host) => deps.domains.storedDomainOf(host),
    limits: { maxBytes: config.IMPORT_MAX_BYTES, maxRows: config.IMPORT_MAX_ROWS },
    concurrency: config.IMPORT_CONCURRENCY,
    errorsMax: config.IMPORT_ERRORS_MAX,
    log: app.log
  })
}
