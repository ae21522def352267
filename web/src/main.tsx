// The page at /: the quick shorten form for everybody, and the dashboard once signed in with an
// API key. The dashboard's code loads only then, and the charts' only on a statistics view.
import '../static/app.css'
import 'uplot/dist/uPlot.min.css'
import './dashboard.css'
import { render, type ComponentType, type JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { call } from './api.ts'
import { apiKey, forgetKey, type Me } from './session.ts'
import { QuickShorten } from './views/QuickShorten.tsx'
import { SignIn } from './views/SignIn.tsx'

interface DashboardProps { me: Me, onSignOut: () => void }

function App (): JSX.Element {
  // undefined: a key from this tab is being checked.
  const [me, setMe] = useState<Me | null | undefined>(apiKey() === null ? null : undefined)
  const [Dashboard, setDashboard] = useState<ComponentType<DashboardProps> | null>(null)

  useEffect(() => {
    if (me !== undefined) return
    call<Me>('/api/v1/me').then(({ data }) => setMe(data), () => { forgetKey(); setMe(null) })
  }, [me])

  useEffect(() => {
    if (me == null || Dashboard !== null) return
    import('./views/Dashboard.tsx').then((m) => setDashboard(() => m.Dashboard), () => {})
  }, [me, Dashboard])

  function signOut (): void {
    forgetKey()
    setMe(null)
    history.replaceState(null, '', '/')
  }

  if (me === null) {
    return (
      <main>
        <h1>Shortwave</h1>
        <QuickShorten />
        <SignIn onSignedIn={setMe} />
      </main>
    )
  }
  if (me === undefined || Dashboard === null) return <main><h1>Shortwave</h1><p role='status'>Loading your links…</p></main>
  return <Dashboard me={me} onSignOut={signOut} />
}

render(<App />, document.getElementById('app')!)
