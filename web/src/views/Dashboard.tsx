// The signed-in page: a header with the views, and the view the URL's fragment names.
import type { ComponentType, JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { href, useRoute, type Route } from '../router.ts'
import type { Me } from '../session.ts'
import { ApiKeys } from './ApiKeys.tsx'
import { Domains } from './Domains.tsx'
import { ImportExport } from './ImportExport.tsx'
import { LinkCreate } from './LinkCreate.tsx'
import { LinkDetail } from './LinkDetail.tsx'
import { LinkList } from './LinkList.tsx'
import { Webhooks } from './Webhooks.tsx'

interface StatsProps { route: Route }

function NAV (me: Me): Array<[string, string]> {
  return [
    ['links', 'Links'], ['new', 'New link'], ['stats', 'Statistics'], ['import', 'Import & export'], ['webhooks', 'Webhooks'],
    ...(me.role === 'admin' ? [['keys', 'API keys'], ['domains', 'Domains']] as Array<[string, string]> : [['domains', 'Domains']] as Array<[string, string]>)
  ]
}

/** The statistics views and their chart library, loaded when first shown. */
function LazyStats ({ route }: StatsProps): JSX.Element {
  const [Stats, setStats] = useState<ComponentType<StatsProps> | null>(null)
  useEffect(() => { import('./Stats.tsx').then((m) => setStats(() => m.Stats), () => {}) }, [])
  return Stats === null ? <p role='status'>Loading the charts…</p> : <Stats route={route} />
}

function view (route: Route, me: Me): JSX.Element {
  const [first, key, sub] = route.parts
  const domain = route.params.get('domain') ?? ''
  switch (first) {
    case undefined:
    case 'links': return <LinkList route={route} />
    case 'new': return <LinkCreate />
    case 'link':
      if (key === undefined) return <LinkList route={route} />
      return sub === 'stats' ? <LazyStats route={route} /> : <LinkDetail linkKey={key} domain={domain} />
    case 'stats': return <LazyStats route={route} />
    case 'import': return <ImportExport me={me} />
    case 'webhooks': return <Webhooks me={me} />
    case 'keys': return me.role === 'admin' ? <ApiKeys me={me} /> : <NotFound />
    case 'domains': return <Domains me={me} />
    default: return <NotFound />
  }
}

function NotFound (): JSX.Element {
  return <><h1 tabindex={-1}>Nothing here</h1><p><a href={href(['links'])}>Back to your links</a></p></>
}

export function Dashboard ({ me, onSignOut }: { me: Me, onSignOut: () => void }): JSX.Element {
  const route = useRoute()
  const current = route.parts[0] ?? 'links'
  return (
    <div class='dashboard'>
      <a class='skip' href='#content' onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus() }}>Skip to content</a>
      <header class='top'>
        <a class='brand' href={href(['links'])}>Shortwave</a>
        <nav aria-label='Views'>
          <ul>
            {NAV(me).map(([part, label]) => (
              <li key={part}><a href={href([part])} aria-current={current === part || (current === 'link' && part === 'links') ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <p class='who'>
          <span>Signed in as <strong>{me.name}</strong>{me.role === 'admin' ? ' (admin)' : ''}</span>
          <button type='button' class='secondary' onClick={onSignOut}>Sign out</button>
        </p>
      </header>
      <main id='content' tabindex={-1} class='wide'>
        {view(route, me)}
      </main>
    </div>
  )
}
