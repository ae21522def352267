import { describe, expect, it } from 'vitest'
import { createDomainDirectory } from '../src/domain-directory.ts'
import type { Domain } from '../src/domain-registry.ts'

// The registry in memory: pure logic over a stand-in for the one Cassandra read (list).

const domain = (host: string): Domain => ({ host, rootRedirect: null, notFoundRedirect: null, createdAt: new Date(0) })

function deferred<T> () {
  let settle!: (value: T) => void
  const promise = new Promise<T>((resolve) => { settle = resolve })
  return { promise, resolve: settle }
}

describe('the domain directory', () => {
  it('serves what the last load read, by host', async () => {
    const directory = createDomainDirectory({ repo: { list: async () => [domain('b.example'), domain('a.example')] }, reloadMs: 60_000, onError: () => {} })
    expect(directory.get('a.example')).toBeUndefined()
    await directory.load()
    expect(directory.get('a.example')).toEqual(domain('a.example'))
    expect(directory.all().map((d) => d.host)).toEqual(['a.example', 'b.example'])
  })

  it('loads once more when a change is announced during a load, so the last change is never missed', async () => {
    const reads = [deferred<Domain[]>(), deferred<Domain[]>()]
    let calls = 0
    const loaded: string[][] = []
    const directory = createDomainDirectory({
      repo: { list: () => reads[calls++]!.promise },
      reloadMs: 60_000,
      onError: () => {},
      onLoad: (domains) => loaded.push([...domains.keys()])
    })
    const first = directory.load()
    directory.changed() // announced while the first read is under way: it may have missed the change
    directory.changed() // and another: still one more read, not two
    reads[0]!.resolve([domain('old.example')])
    await Promise.resolve()
    reads[1]!.resolve([domain('old.example'), domain('new.example')])
    await first
    expect(calls).toBe(2)
    expect(loaded).toEqual([['old.example'], ['old.example', 'new.example']])
    expect(directory.get('new.example')).toBeDefined()
  })

  it('keeps serving the last registry when a reload fails, and says so', async () => {
    let fail = false
    const errors: string[] = []
    const directory = createDomainDirectory({
      repo: { list: async () => { if (fail) throw new Error('Cassandra down'); return [domain('a.example')] } },
      reloadMs: 60_000,
      onError: (err) => errors.push(err.message)
    })
    await directory.load()
    fail = true
    directory.changed()
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toEqual(['Cassandra down'])
    expect(directory.get('a.example')).toBeDefined()
  })

  it('reloads every reloadMs until closed', async () => {
    let calls = 0
    const repo = { list: async () => { calls++; return [] } }
    const directory = createDomainDirectory({ repo, reloadMs: 20, onError: () => {} })
    directory.start()
    await new Promise((resolve) => setTimeout(resolve, 150))
    directory.close()
    const atClose = calls
    expect(atClose).toBeGreaterThanOrEqual(2)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(calls).toBe(atClose)
  })

  it('remembers a domain this process wrote or read until the next load, and forgets a removed one', () => {
    const directory = createDomainDirectory({ repo: { list: async () => [] }, reloadMs: 60_000, onError: () => {} })
    directory.put(domain('a.example'))
    expect(directory.get('a.example')).toBeDefined()
    directory.forget('a.example')
    expect(directory.get('a.example')).toBeUndefined()
  })
})
