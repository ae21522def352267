// A new link with every option the API takes.
import type { JSX } from 'preact'
import { call, get } from '../api.ts'
import { useFocusOnMount, useLoad } from '../ui/hooks.ts'
import { Notice } from '../ui/controls.tsx'
import { go, href } from '../router.ts'
import type { Domain, Link } from '../types.ts'
import { LinkForm, type LinkFields } from './LinkForm.tsx'

/** The create body: only the fields given (an empty one means the API's default). */
export function createBody (fields: LinkFields): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === '' || value === false) continue
    if (Array.isArray(value) && value.length === 0) continue
    body[name] = value
  }
  return body
}

export function LinkCreate (): JSX.Element {
  const heading = useFocusOnMount<HTMLHeadingElement>('new')
  const domains = useLoad(() => get<{ domains: Domain[] }>('/api/v1/domains'), [])
  async function create (fields: LinkFields): Promise<void> {
    const { data } = await call<Link>('/api/v1/links', { method: 'POST', body: createBody(fields) })
    go(href(['link', data.key], { domain: data.domain, created: '1' }))
  }
  return (
    <>
      <h1 tabindex={-1} ref={heading}>New link</h1>
      {domains.error !== undefined && <Notice kind='error'>{domains.error.message}</Notice>}
      {domains.data !== undefined && <LinkForm domains={domains.data.domains} submitLabel='Create link' busyLabel='Creating…' onSubmit={create} />}
    </>
  )
}
