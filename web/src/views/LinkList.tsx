// Your links: search, tag and domain filters, sort and order (all kept in the URL's fragment, so
// Back and a bookmark work), a page at a time with each link's clicks.
import type { JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { get, query } from '../api.ts'
import { count, Notice, when } from '../ui/controls.tsx'
import { useFocusOnMount, useLoad } from '../ui/hooks.ts'
import { go, href, type Route } from '../router.ts'
import type { Domain, LinkPage } from '../types.ts'

export const PAGE_SIZE = 50

const FILTERS = ['q', 'tag', 'domain', 'sort', 'order', 'expired'] as const

export function LinkList ({ route }: { route: Route }): JSX.Element {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, route.params.get(name) ?? ''])) as Record<typeof FILTERS[number], string>
  // The cursors of the pages before this one: Previous pops one.
  const [cursors, setCursors] = useState<Array<string | undefined>>([])
  const [cursor, setCursor] = useState<string | undefined>(undefined)
  const heading = useFocusOnMount<HTMLHeadingElement>('links')
  const filterKey = FILTERS.map((name) => filters[name]).join('\n')
  const page = useLoad(() => get<LinkPage>(`/api/v1/links${query({ ...filters, limit: PAGE_SIZE, cursor })}`), [filterKey, cursor])
  const domains = useLoad(() => get<{ domains: Domain[] }>('/api/v1/domains'), [])
  // After the render that shows a page of links: the browser test reads it as "interactive".
  useEffect(() => { if (page.data !== undefined) performance.mark('sw:links-shown') }, [page.data])

  function apply (event: Event): void {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const next: Record<string, string | undefined> = {}
    for (const name of FILTERS) next[name] = String(data.get(name) ?? '').trim() || undefined
    setCursors([])
    setCursor(undefined)
    go(href(['links'], next))
  }

  const links = page.data?.links ?? []
  return (
    <>
      <h1 tabindex={-1} ref={heading}>Your links</h1>
      <form key={filterKey} class='filters' role='search' aria-label='Find links' onSubmit={apply}>
        <div>
          <label for='f-q'>Search</label>
          <input id='f-q' name='q' type='search' defaultValue={filters.q} placeholder='words of the title or URL' />
        </div>
        <div>
          <label for='f-tag'>Tag</label>
          <input id='f-tag' name='tag' defaultValue={filters.tag} autocomplete='off' />
        </div>
        <div>
          <label for='f-domain'>Domain</label>
          <select id='f-domain' name='domain' value={filters.domain}>
            <option value=''>Every domain</option>
            {(domains.data?.domains ?? []).map((d) => <option key={d.host} value={d.host}>{d.host}</option>)}
          </select>
        </div>
        <div>
          <label for='f-sort'>Sort by</label>
          <select id='f-sort' name='sort' value={filters.sort || 'created'}>
            <option value='created'>Created</option>
            <option value='clicks'>Clicks</option>
          </select>
        </div>
        <div>
          <label for='f-order'>Order</label>
          <select id='f-order' name='order' value={filters.order || 'desc'}>
            <option value='desc'>Descending</option>
            <option value='asc'>Ascending</option>
          </select>
        </div>
        <div class='check'>
          <input id='f-expired' name='expired' type='checkbox' value='include' checked={filters.expired === 'include'} />
          <label for='f-expired'>Show expired links</label>
        </div>
        <button type='submit'>Apply</button>
      </form>
      {route.params.get('deleted') !== null && <Notice>Link {route.params.get('deleted')} deleted.</Notice>}
      {page.error !== undefined && <Notice kind='error'>{page.error.message}</Notice>}
      {page.loading && <p role='status' class='hint'>Loading…</p>}
      {!page.loading && page.error === undefined && links.length === 0 && (
        <p>No links here yet. <a href={href(['new'])}>Create one</a> or <a href={href(['import'])}>import a file</a>.</p>
      )}
      {links.length > 0 && (
        <div class='table-wrap'>
          <table id='links'>
            <caption class='visually-hidden'>Your links, {filters.sort === 'clicks' ? 'by clicks' : 'by creation time'}</caption>
            <thead>
              <tr><th scope='col'>Short link</th><th scope='col'>Title and target</th><th scope='col'>Tags</th><th scope='col' class='num'>Clicks</th><th scope='col'>Created</th></tr>
            </thead>
            <tbody>
              {links.map((link) => (
                <tr key={`${link.domain}/${link.key}`}>
                  <td><a href={href(['link', link.key], { domain: link.domain })}>{link.shortUrl.replace(/^https?:\/\//, '')}</a>
                    {link.disabled && <span class='badge'>disabled</span>}{link.expired === true && <span class='badge'>expired</span>}
                  </td>
                  <td class='target'>{link.title !== null && <strong class='title'>{link.title}</strong>}<span class='url'>{link.url}</span></td>
                  <td>{link.tags.map((tag) => <a key={tag} class='tag' href={href(['links'], { tag })}>{tag}</a>)}</td>
                  <td class='num'>{link.clicks === undefined ? '—' : count(link.clicks)}</td>
                  <td>{when(link.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class='pager' aria-label='Pages'>
        <button
          type='button' class='secondary' disabled={cursors.length === 0} onClick={() => {
            const back = [...cursors]
            setCursor(back.pop())
            setCursors(back)
          }}
        >Previous page
        </button>
        <button
          type='button' class='secondary' disabled={page.data?.nextCursor == null} onClick={() => {
            setCursors([...cursors, cursor])
            setCursor(page.data?.nextCursor ?? undefined)
          }}
        >Next page
        </button>
      </nav>
    </>
  )
}
