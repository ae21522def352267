import { RateLimitedError } from '@shortwave/common/errors'
import type { ErrorBody } from '@shortwave/common/plugins/error-handler'
import { errorBody } from '@shortwave/common/plugins/error-handler'
import type { FastifyError, FastifySchemaValidationError } from 'fastify'
import type { Link } from '@shortwave/common/link-repository'
import { formatValidationErrors } from './validation-messages.ts'

// POST /api/v1/links/batch: every item is validated and created on its own, exactly like a
// single POST /api/v1/links (same checks, same messages), and answered in place: 201 with the
// link, or the error that item would have had alone. Items over the caller's rate limit are
// answered 429; the ones before them still go through.

export type ItemResult<L> = { status: 201, link: L } | { status: number, error: ErrorBody }

export interface BatchOptions<L> {
  /** The schema validator of one item (the single-create body); sets `.errors` when false. */
  validate: ((item: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null }
  create: (item: unknown) => Promise<Link>
  present: (link: Link) => L
  /** Items that fit in the rate limit: the first `allowed` items are created, the rest get 429. */
  allowed: number
  retryAfter: string
  /** Items created at once. */
  concurrency: number
  onFailure?: (error: FastifyError, index: number) => void
}

function failure<L> (error: FastifyError): ItemResult<L> {
  const body = errorBody(error)
  return { status: body.statusCode, error: body }
}

export async function createBatch<L> (items: unknown[], opts: BatchOptions<L>): Promise<Array<ItemResult<L>>> {
  const results = new Array<ItemResult<L>>(items.length)

  async function one (index: number): Promise<ItemResult<L>> {
    if (index >= opts.allowed) return failure(new RateLimitedError(opts.retryAfter))
    const item = items[index]
    if (!opts.validate(item)) {
      // Named "link" where a single create would say "the request body".
      const invalid = formatValidationErrors(opts.validate.errors ?? [], 'link') as FastifyError
      return failure(Object.assign(invalid, { statusCode: 400, code: 'FST_ERR_VALIDATION' }))
    }
    try {
      return { status: 201, link: opts.present(await opts.create(item)) }
    } catch (error) {
      opts.onFailure?.(error as FastifyError, index)
      return failure(error as FastifyError)
    }
  }

  let next = 0
  async function lane (): Promise<void> {
    while (next < items.length) {
      const index = next++
      results[index] = await one(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, items.length) }, lane))
  return results
}
