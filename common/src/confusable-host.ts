import { domainToUnicode } from 'node:url'

// Look-alike ("homograph") hosts: "pаypal.com" with a Cyrillic "а" reads as paypal.com and is
// another site. Browsers show such names in punycode; a short link hides its target even better,
// so the shortener refuses them outright, by rules close to the browsers' (UTS #39 "moderately
// restrictive", and Chromium's whole-script check for Cyrillic):
// - each label uses one script, or Latin plus one script that has no Latin look-alikes, or the
//   CJK mixes people really write (Han with Hiragana/Katakana, Bopomofo or Hangul, plus Latin);
// - a label in Cyrillic letters that all look Latin ("аррӏе") is refused, unless the top-level
//   domain itself is Cyrillic (.рф, where such names are the norm).
// Honest IDNs (bücher.de, пример.рф, 例え.jp) pass and are stored exactly as given.

const SCRIPTS = [
  'Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Georgian', 'Han', 'Hiragana', 'Katakana', 'Bopomofo', 'Hangul',
  'Arabic', 'Hebrew', 'Thai', 'Lao', 'Devanagari', 'Bengali', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Gujarati',
  'Gurmukhi', 'Sinhala', 'Khmer', 'Myanmar', 'Ethiopic', 'Tibetan', 'Mongolian', 'Thaana', 'Syriac', 'Coptic'
] as const
const SCRIPT_TESTS = SCRIPTS.map((name) => [name, new RegExp(`\\p{Script=${name}}`, 'u')] as const)
const LETTER = /\p{L}/u
// Scripts with letters that pass for Latin ones: never mixed with Latin.
const LATIN_LOOKALIKES = new Set(['Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic'])
const CJK_MIXES = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul'])
]
// Chromium's list (components/url_formatter/spoof_checks): Cyrillic letters with a Latin twin.
const CYRILLIC_LATIN_ALIKE = /^[асԁеһіјӏорԛѕԝхуъЬҽпгѵѡ]+$/u

function scriptOf (char: string): string {
  return SCRIPT_TESTS.find(([, test]) => test.test(char))?.[0] ?? `U+${char.codePointAt(0)!.toString(16).toUpperCase()}`
}

function scriptsOf (label: string): Set<string> {
  const scripts = new Set<string>()
  for (const char of label) if (LETTER.test(char)) scripts.add(scriptOf(char))
  return scripts
}

function allowedMix (scripts: Set<string>): boolean {
  if (scripts.size <= 1) return true
  if (CJK_MIXES.some((mix) => [...scripts].every((s) => mix.has(s)))) return true
  if (scripts.size === 2 && scripts.has('Latin')) return ![...scripts].some((s) => LATIN_LOOKALIKES.has(s))
  return false
}

/**
 * Why a host (as the WHATWG parser writes it: lower case, punycode) would pass for another one,
 * or null when it would not. The answer names the Unicode spelling, so a person sees the trick.
 */
export function lookalikeHostProblem (host: string): string | null {
  if (!host.split('.').some((label) => label.startsWith('xn--'))) return null
  const unicode = domainToUnicode(host)
  const labels = unicode.split('.')
  const cyrillicTld = scriptsOf(labels.at(-1) ?? '').has('Cyrillic')
  for (const label of labels) {
    const scripts = scriptsOf(label)
    if (!allowedMix(scripts)) {
      return `(${unicode}) mixes ${[...scripts].join(' and ')} letters in one name, the way look-alikes of other sites are made`
    }
    const letters = [...label].filter((char) => LETTER.test(char)).join('')
    if (!cyrillicTld && CYRILLIC_LATIN_ALIKE.test(letters)) {
      return `(${unicode}) is written in Cyrillic letters that look like Latin ones, the way look-alikes of other sites are made`
    }
  }
  return null
}
