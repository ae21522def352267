import { describe, expect, it } from 'vitest'
import { linkWords, matchesSearch, parseSearch, searchTokens } from '../src/link-search.ts'

// The rule q follows and the rows a link is indexed under (link_list_by_token): a link must be in
// the partition of every query that matches it, or a listing would never find it.

const link = { key: 'promo-2027', url: 'https://www.Shop.example.com/Spring-Sale/shoes%20red?utm_source=x', title: 'Big discounts' }

describe('search words and tokens', () => {
  it('takes the words of the host, the decoded path, the title and the key; not the query string, http(s) or www', () => {
    expect(linkWords(link)).toEqual(['shop', 'example', 'com', 'spring', 'sale', 'shoes', 'red', 'big', 'discounts', 'promo', '2027'])
  })

  it('indexes prefixes of 3 and 6 characters only', () => {
    const tokens = searchTokens({ key: 'k1', url: 'https://example.com/catalogue' })
    expect(tokens.sort()).toEqual(['cat', 'catalo', 'com', 'exa', 'exampl'])
  })

  it('puts every matching link in the partition the query reads', () => {
    for (const q of ['spring', 'SPR', 'exam sale', 'discount', 'promo-2027', 'shoes red', 'https://www.shop.example.com']) {
      const query = parseSearch(q)!
      expect(matchesSearch(link, query), q).toBe(true)
      expect(searchTokens(link), q).toContain(query.token)
    }
    const long = { key: 'k2', url: 'https://example.com/internationalisation-guide' }
    const query = parseSearch('internationalis')!
    expect(query.token).toBe('intern')
    expect(searchTokens(long)).toContain(query.token)
    expect(matchesSearch(long, query)).toBe(true)
  })

  it('matches words from their start only, and every word of q', () => {
    expect(matchesSearch(link, parseSearch('ring')!)).toBe(false)
    expect(matchesSearch(link, parseSearch('spring autumn')!)).toBe(false)
    expect(matchesSearch(link, parseSearch('spring sa')!)).toBe(true)
  })

  it('refuses a q without a word of 3 characters to look up', () => {
    for (const q of ['', 'a b', 'go', 'http://www', '-- //']) expect(parseSearch(q), q).toBeNull()
  })
})
