import { describe, expect, it } from 'vitest'
import { hasRules, judge, NO_RULES, type LinkRules } from '../src/lifecycle.ts'

const NOW = Date.UTC(2026, 11, 5, 12)
const HOUR = 3_600_000
const rules = (set: Partial<LinkRules>): LinkRules => ({ ...NO_RULES, ...set })

describe('judge', () => {
  it('sends a link with no rules to its target, expired or not as the caller says', () => {
    expect(judge(NO_RULES, { now: NOW, expiresAt: null })).toEqual({ kind: 'target' })
    expect(judge(NO_RULES, { now: NOW, expiresAt: NOW + 1 })).toEqual({ kind: 'target' })
    expect(judge(NO_RULES, { now: NOW, expiresAt: NOW })).toEqual({ kind: 'unavailable', reason: 'expired', status: 410 })
  })

  it('answers 404 before validFrom and from it on redirects', () => {
    const r = rules({ validFrom: NOW + HOUR })
    expect(judge(r, { now: NOW, expiresAt: null })).toEqual({ kind: 'unavailable', reason: 'not-yet-valid', status: 404 })
    expect(judge(r, { now: NOW + HOUR, expiresAt: null })).toEqual({ kind: 'target' })
  })

  it('answers 404 while disabled', () => {
    expect(judge(rules({ disabled: true }), { now: NOW, expiresAt: null }))
      .toEqual({ kind: 'unavailable', reason: 'disabled', status: 404 })
  })

  it('lets exactly maxClicks GETs through, then answers 410', () => {
    const r = rules({ maxClicks: 3 })
    const verdicts = [1, 2, 3, 4, 5].map((clickNumber) => judge(r, { now: NOW, expiresAt: null, clickNumber }).kind)
    expect(verdicts).toEqual(['target', 'target', 'target', 'unavailable', 'unavailable'])
    expect(judge(r, { now: NOW, expiresAt: null, clickNumber: 4 })).toMatchObject({ reason: 'exhausted', status: 410 })
  })

  it('says gone (410) before unavailable (404) when several rules apply', () => {
    const all = rules({ disabled: true, validFrom: NOW + HOUR, maxClicks: 1 })
    expect(judge(all, { now: NOW, expiresAt: NOW - 1, clickNumber: 9 })).toMatchObject({ reason: 'expired', status: 410 })
    expect(judge(all, { now: NOW, expiresAt: null, clickNumber: 2 })).toMatchObject({ reason: 'exhausted', status: 410 })
    expect(judge(all, { now: NOW, expiresAt: null, clickNumber: 1 })).toMatchObject({ reason: 'disabled', status: 404 })
  })

  it('sends to the fallback whatever the reason, naming it', () => {
    const fallbackUrl = 'https://example.com/sorry'
    const cases: Array<[Partial<LinkRules>, number | null, number | undefined, string]> = [
      [{ validFrom: NOW + 1 }, null, undefined, 'not-yet-valid'],
      [{ disabled: true }, null, undefined, 'disabled'],
      [{ maxClicks: 1 }, null, 2, 'exhausted'],
      [{}, NOW, undefined, 'expired']
    ]
    for (const [set, expiresAt, clickNumber, reason] of cases) {
      const moment = { now: NOW, expiresAt, ...(clickNumber === undefined ? {} : { clickNumber }) }
      expect(judge(rules({ ...set, fallbackUrl }), moment))
        .toEqual({ kind: 'fallback', reason, url: fallbackUrl })
    }
    expect(judge(rules({ fallbackUrl }), { now: NOW, expiresAt: null })).toEqual({ kind: 'target' })
  })
})

describe('hasRules', () => {
  it('is false only when nothing is set', () => {
    expect(hasRules(NO_RULES)).toBe(false)
    const each: Array<Partial<LinkRules>> = [
      { validFrom: 0 }, { disabled: true }, { maxClicks: 0 }, { fallbackUrl: 'https://e.com' }, { forwardQuery: true }, { redirectStatus: 301 }
    ]
    for (const set of each) expect(hasRules(rules(set)), JSON.stringify(set)).toBe(true)
  })
})
