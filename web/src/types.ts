// The API's shapes the page reads (create-service's schemas are the source; see /api/docs).

export interface Link {
  key: string
  domain: string
  shortUrl: string
  url: string
  createdAt: string
  expiresAt: string | null
  title: string | null
  tags: string[]
  updatedAt: string
  validFrom: string | null
  maxClicks: number | null
  fallbackUrl: string | null
  disabled: boolean
  forwardQuery: boolean
  redirectStatus: number | null
  clicks?: number
  expired?: boolean
}

export interface LinkPage { links: Link[], nextCursor: string | null }

export interface Edit {
  version: number
  editedAt: string
  editedBy: string
  before: Record<string, unknown>
  after: Record<string, unknown>
}
export interface HistoryPage { key: string, edits: Edit[], nextCursor: string | null }

export interface StatsRow { value: string, clicks: number, uniqueVisitors?: number }
export interface Stats {
  from: string
  to: string
  by: string
  clicks: number
  botClicks: number
  uniqueVisitors: number
  rows: StatsRow[]
  daily?: Array<{ date: string, clicks: number, botClicks: number }>
}

export interface Domain {
  host: string
  default: boolean
  rootRedirect: string | null
  notFoundRedirect: string | null
  createdAt: string | null
}

export interface ImportJob {
  id: string
  status: 'running' | 'completed' | 'interrupted'
  layout: string
  total: number
  done: number
  created: number
  skipped: number
  failed: number
  createdAt: string
  updatedAt: string
  finishedAt: string | null
}
export interface ImportError { line: number, field?: string | null, message: string, [name: string]: unknown }

export interface Webhook {
  id: string
  url: string
  events: string[]
  allLinks: boolean
  enabled: boolean
  createdAt: string
  disabledAt: string | null
  disabledReason: string | null
  secret?: string
}
export interface Delivery {
  at: string
  eventId: string
  eventType: string
  attempt: number
  outcome: string
  statusCode: number | null
  error: string | null
  durationMs: number
}

export interface ApiKeyInfo {
  id: string
  name: string
  role: 'user' | 'admin'
  rate: string | null
  createdAt: string
  revokedAt: string | null
  secret?: string
}
