import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readUpload, type Framing, type ImportFormat } from '../src/import/read-upload.ts'
import { csvField, csvLine, CSV_HEADER, type ExportedLink } from '../src/export/link-rows.ts'
import { rowIdentity } from '../src/import/import-row.ts'

// The parsers alone: each fixture (tests/fixtures/import) is read as its layout, with the fields a
// create takes and the line each row ends on.

const FIXTURES = new URL('../../tests/fixtures/import/', import.meta.url)
const limits = { maxBytes: 1_000_000, maxRows: 1000 }

function read (name: string, format?: ImportFormat, lim = limits) {
  const framing: Framing = name.endsWith('.csv') ? 'csv' : 'ndjson'
  return readUpload(createReadStream(new URL(name, FIXTURES)), framing, format, lim)
}

const text = (body: string, framing: Framing = 'csv', format?: ImportFormat) => readUpload(Readable.from([body]), framing, format, limits)

describe('import layouts', () => {
  it('reads Shortwave CSV with quoted commas, doubled quotes, tags and lifecycle fields', async () => {
    const { layout, rows } = await read('shortwave.csv')
    expect(layout).toBe('shortwave')
    expect(rows).toEqual([
      {
        line: 2,
        fields: {
          key: 'fx-spring-sale',
          url: 'https://example.com/sale?utm_source=mail',
          title: 'Spring sale, 2027',
          tags: ['campaign', 'spring'],
          expiresAt: '2030-01-01T00:00:00.000Z',
          maxClicks: 500,
          fallbackUrl: 'https://example.com/sold-out',
          disabled: false,
          forwardQuery: true,
          redirectStatus: 301
        }
      },
      { line: 3, fields: { url: 'https://example.org/docs/getting-started', title: 'Getting started', tags: ['docs'], disabled: false, forwardQuery: false } },
      {
        line: 4,
        fields: {
          key: 'fx-quote', url: 'https://example.net/a?q=1&r=2', title: 'He said "hi"', validFrom: '2027-01-01T00:00:00.000Z', disabled: true, forwardQuery: false
        }
      }
    ])
  })

  it('reads Shortwave NDJSON, skipping blank lines and keeping line numbers', async () => {
    const { layout, rows } = await read('shortwave.ndjson')
    expect(layout).toBe('shortwave')
    expect(rows.map((r) => r.line)).toEqual([1, 2, 4])
    expect(rows[0]).toMatchObject({ fields: { key: 'fx-nd-one', tags: ['a', 'b'], maxClicks: 10 } })
    expect(rows[2]).toMatchObject({ fields: { key: 'fx-nd-three', redirectStatus: 308, forwardQuery: true } })
  })

  it('reads a Bitly export: the back-half of the Bitlink becomes the key', async () => {
    const { layout, rows } = await read('bitly.csv')
    expect(layout).toBe('bitly')
    expect(rows[0]).toEqual({ line: 2, fields: { url: 'https://www.example.com/blog/2024/launch', key: 'fxBit01', title: 'Launch post', tags: ['blog', 'launch'] } })
    expect(rows[2]).toMatchObject({ fields: { title: 'Careers, all teams', key: 'fxBit03' } })
  })

  it('reads a YOURLS table dump: keyword, url, title', async () => {
    const { layout, rows } = await read('yourls.csv')
    expect(layout).toBe('yourls')
    expect(rows[1]).toEqual({ line: 3, fields: { url: 'https://example.com/yourls/second?a=b', key: 'fx-yourls-2' } })
  })

  it('reads the YOURLS-Import-Export plugin\'s source,target,hits', async () => {
    const { layout, rows } = await text('source,target,hits\r\n/fx-plug/,https://example.com/p,3\r\n')
    expect(layout).toBe('yourls')
    expect(rows).toEqual([{ line: 2, fields: { url: 'https://example.com/p', key: 'fx-plug' } }])
  })

  it('reads Kutt links as its API lists them', async () => {
    const { layout, rows } = await read('kutt.ndjson')
    expect(layout).toBe('kutt')
    expect(rows[0]).toEqual({ line: 1, fields: { url: 'https://docs.example.com/kutt', key: 'fx-kutt-a', title: 'Kutt docs' } })
    expect(rows[1]).toMatchObject({ fields: { expiresAt: '2031-10-01T10:00:00.000Z' } })
  })

  it('reads a Shlink web client export', async () => {
    const { layout, rows } = await read('shlink.csv')
    expect(layout).toBe('shlink')
    expect(rows[0]).toEqual({ line: 2, fields: { url: 'https://example.com/shlink/one', key: 'fxShl1', title: 'Shlink one', tags: ['news', 'tech'] } })
  })

  it('reads a Shlink API short URL with its meta', async () => {
    const body = JSON.stringify({ shortCode: 'abc', longUrl: 'https://example.com', meta: { validUntil: '2030-01-01T00:00:00+00:00', maxVisits: 5 } })
    const { rows } = await text(body + '\n', 'ndjson')
    expect(rows[0]).toMatchObject({ fields: { key: 'abc', expiresAt: '2030-01-01T00:00:00+00:00', maxClicks: 5 } })
  })

  it('lists a CSV record with the wrong number of cells and reads on', async () => {
    const { rows } = await text('url,title\nhttps://a.example,A\nhttps://b.example,B,extra\nhttps://c.example,C\n')
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4])
    expect(rows[1]).toMatchObject({ line: 3, problem: expect.stringMatching(/column|record/i) })
  })

  it('lists an NDJSON line that is not an object and reads on', async () => {
    const { rows } = await text('{"url":"https://a.example"}\n[1]\n{oops\n', 'ndjson')
    expect(rows).toMatchObject([{ line: 1 }, { line: 2, problem: 'the line must hold a JSON object' }, { line: 3, problem: expect.stringMatching(/JSON/) }])
  })

  it('lists a quote never closed as a row that cannot be read', async () => {
    const { rows } = await text('url\nhttps://a.example\n"https://b.example\n')
    expect(rows).toEqual([{ line: 2, fields: { url: 'https://a.example' } }, { line: 3, problem: expect.stringMatching(/Quote Not Closed/) }])
  })

  it('refuses an empty file and an unknown layout, naming why', async () => {
    await expect(text('url,title\n')).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/no rows/) })
    await expect(text('foo,bar\n1,2\n')).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/^format:/) })
    await expect(text('url\nhttps://a.example\n', 'csv', 'ndjson')).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/^format=ndjson/) })
  })

  it('refuses an upload over the byte or row limit with 413', async () => {
    const body = 'url\n' + 'https://example.com/x\n'.repeat(100)
    await expect(readUpload(Readable.from([body]), 'csv', undefined, { maxBytes: 500, maxRows: 1000 })).rejects.toMatchObject({ statusCode: 413 })
    await expect(readUpload(Readable.from([body]), 'csv', undefined, { maxBytes: 100_000, maxRows: 10 })).rejects.toMatchObject({ statusCode: 413 })
  })
})

describe('export rows', () => {
  it('quotes fields as RFC 4180 asks and reads back as the same fields', async () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"\n')).toBe('"say ""hi""\n"')
    const link: ExportedLink = {
      ...{ key: 'k1', domain: '', shortUrl: 'http://sw.test/k1', url: 'https://example.com/?a=1,2', title: 'T, "q"', tags: ['x', 'y'] },
      ...{ createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', expiresAt: null, validFrom: null },
      ...{ maxClicks: 3, fallbackUrl: null, disabled: false, forwardQuery: true, redirectStatus: 307, clicks: 9 }
    }
    const { rows } = await text(CSV_HEADER + csvLine(link))
    expect(rows[0]).toEqual({
      line: 2,
      fields: { key: 'k1', url: 'https://example.com/?a=1,2', title: 'T, "q"', tags: ['x', 'y'], maxClicks: 3, disabled: false, forwardQuery: true, redirectStatus: 307 }
    })
  })
})

describe('row identity', () => {
  it('is the key when the row names one, else a hash of its fields (tag order aside)', () => {
    expect(rowIdentity('', { alias: 'abc', url: 'https://x' })).toBe('k:/abc')
    const a = rowIdentity('', { url: 'https://x', tags: ['a', 'b'] })
    expect(rowIdentity('', { url: 'https://x', tags: ['b', 'a'] })).toBe(a)
    expect(rowIdentity('', { url: 'https://y', tags: ['a', 'b'] })).not.toBe(a)
    expect(rowIdentity('go.example', { url: 'https://x', tags: ['a', 'b'] })).not.toBe(a)
  })
})
