// What `q` of the list matches, and the search tokens a link is indexed under (link_list_by_token).
// Pure functions: the create path, the edit path, the backfill and the listing all call these, so
// the rows written and the check a listing makes against the links row never disagree.
//
// A link's words are the words of its URL's host and path, of its title and of its key: lower
// case, split on anything that is not a letter or a digit. `q` is split the same way; a link
// matches when every word of q begins a word of the link ("exam sale" matches
// https://example.com/spring-sale). A link is indexed under prefixes of each of its words, so
// any word of q names a partition holding every link it can match; the listing reads the
// partition of q's longest word (the rarest, most likely) and checks the other words against the
// links row.
//
// Not every prefix is indexed: a link's rows cost its create (and the backfill) one write each.
// A word is indexed under its prefixes of PREFIX_LENGTHS characters, so a word of q is looked up by
// its longest prefix of one of those lengths (a 7-letter word by its first 6 letters, a 5-letter
// one by its first 3) and checked in full against the links row. Two lengths, not every length up
// to 16 (the first version): a typical link has about 10 token rows instead of 20, which each cost
// an owned create a write (the create A/B in docs/benchmarks.md). Words of 2 characters are
// matched but never looked up (q needs a word of 3 or more).

/** The prefix lengths indexed: 3 (every word q can look up), and 6 (selective enough for a long word). */
export const PREFIX_LENGTHS: readonly number[] = [3, 6]
export const LOOKUP_MIN = PREFIX_LENGTHS[0]!
/** Words of one link indexed at most (the first ones: host, path, title, key); later ones do not match. */
export const WORDS_MAX = 24
/** Words that would match nearly every link, and appear in a pasted URL. */
const STOP_WORDS: ReadonlySet<string> = new Set(['http', 'https', 'www'])

export interface Searchable {
  key: string
  url: string
  title?: string | null
}

/** Lower-case words of a text: runs of letters and digits, 2 characters or more, no stop words. */
export function wordsOf (text: string): string[] {
  return text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length >= 2 && !STOP_WORDS.has(word))
}

function urlText (url: string): string {
  try {
    const parsed = new URL(url)
    let path = parsed.pathname
    try {
      path = decodeURIComponent(path)
    } catch {}
    return `${parsed.hostname} ${path}`
  } catch {
    return url
  }
}

/** The distinct words of a link that q can match, WORDS_MAX at most. */
export function linkWords (link: Searchable): string[] {
  const words = [...wordsOf(urlText(link.url)), ...wordsOf(link.title ?? ''), ...wordsOf(link.key)]
  return [...new Set(words)].slice(0, WORDS_MAX)
}

/** The tokens the link is indexed under: the prefixes of its words of PREFIX_LENGTHS characters. */
export function searchTokens (link: Searchable): string[] {
  const tokens = new Set<string>()
  for (const word of linkWords(link)) {
    const chars = [...word]
    for (const n of PREFIX_LENGTHS) if (n <= chars.length) tokens.add(chars.slice(0, n).join(''))
  }
  return [...tokens]
}

/** The token a word of q is looked up by: its longest indexed prefix. */
function lookupToken (word: string): string {
  const chars = [...word]
  const n = PREFIX_LENGTHS.filter((length) => length <= chars.length).at(-1)!
  return chars.slice(0, n).join('')
}

export interface SearchQuery {
  words: string[]
  /** The partition the listing reads: q's longest word, by its longest indexed prefix. */
  token: string
}

/** q as the listing uses it, or null when it holds no word of LOOKUP_MIN characters or more. */
export function parseSearch (q: string): SearchQuery | null {
  const words = [...new Set(wordsOf(q))]
  const longest = words.reduce((a, b) => ([...b].length > [...a].length ? b : a), '')
  if ([...longest].length < LOOKUP_MIN) return null
  return { words, token: lookupToken(longest) }
}

/** Whether every word of the query begins a word of the link. */
export function matchesSearch (link: Searchable, query: SearchQuery): boolean {
  const words = linkWords(link)
  return query.words.every((q) => words.some((w) => w.startsWith(q)))
}
