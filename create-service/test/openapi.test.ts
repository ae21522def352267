import { createSchemaChecker } from '@shortwave/testing/json-schema'
import { createTestInfra, type TestInfra } from '@shortwave/testing/infra'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp } from './helpers.ts'

let infra: TestInfra
let app: FastifyInstance
let doc: OpenApi

interface Media { schema?: object, example?: unknown, examples?: Record<string, { value: unknown }> }
interface Operation {
  responses: Record<string, { content?: Record<string, Media> }>
  requestBody?: { content: Record<string, Media> }
}
interface OpenApi { openapi: string, paths: Record<string, Record<string, Operation>> }

beforeAll(async () => {
  infra = await createTestInfra('cs_openapi')
  app = await startApp(infra)
  doc = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json()
})

afterAll(async () => {
  await app?.close()
  await infra?.close()
})

/** Every method and path the app answers, read from Fastify's route tree. */
function registeredRoutes (target: FastifyInstance): Array<{ method: string, path: string }> {
  const routes: Array<{ method: string, path: string }> = []
  const prefixes: string[] = []
  for (const line of target.printRoutes({ commonPrefix: false }).split('\n')) {
    const branch = line.search(/[├└]/)
    if (branch < 0) continue
    const depth = branch / 4
    const match = /── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)!
    const path = (depth > 0 ? prefixes[depth - 1]! : '') + match[1]!
    prefixes[depth] = path
    for (const method of match[2]?.split(', ') ?? []) routes.push({ method, path })
  }
  return routes
}

/** Each example in the document with the schema it illustrates. */
function examples (document: OpenApi): Array<{ where: string, schema: object, value: unknown }> {
  const found: Array<{ where: string, schema: object, value: unknown }> = []
  function inSchema (where: string, schema: unknown): void {
    if (schema === null || typeof schema !== 'object') return
    const node = schema as Record<string, unknown>
    if (Array.isArray(node['examples'])) node['examples'].forEach((value, i) => found.push({ where: `${where} examples[${i}]`, schema: node, value }))
    if ('example' in node) found.push({ where: `${where} example`, schema: node, value: node['example'] })
    for (const [key, child] of Object.entries(node)) {
      if (key !== 'examples' && key !== 'example') inSchema(`${where}/${key}`, child)
    }
  }
  function inMedia (where: string, media: Media): void {
    if (!media.schema) return
    if ('example' in media) found.push({ where: `${where} example`, schema: media.schema, value: media.example })
    for (const [name, { value }] of Object.entries(media.examples ?? {})) found.push({ where: `${where} ${name}`, schema: media.schema, value })
    inSchema(where, media.schema)
  }
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) inMedia(`${method} ${path} request ${type}`, media)
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) inMedia(`${method} ${path} ${status} ${type}`, media)
      }
    }
  }
  return found
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 at /api/docs/json, with Swagger UI at /api/docs', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const ui = await app.inject({ method: 'GET', url: '/api/docs' })
    expect(ui.statusCode).toBe(200)
    expect(ui.headers['content-type']).toMatch(/^text\/html/)
  })

  it('describes every route the service answers, health, metrics and the docs themselves aside', () => {
    const api = registeredRoutes(app).filter(({ method, path }) =>
      // Fastify answers HEAD for every GET by itself.
      method !== 'HEAD' && !/^\/(healthz|readyz|metrics)$/.test(path) && !path.startsWith('/api/docs'))
    expect(api.length).toBeGreaterThanOrEqual(7)
    const missing = api.filter(({ method, path }) => doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] === undefined)
    expect(missing).toEqual([])
  })

  it('gives every documented answer a schema and every JSON answer an example', () => {
    const withoutExample: string[] = []
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const json = response.content?.['application/json']
          if (json && json.example === undefined && json.examples === undefined) withoutExample.push(`${method} ${path} ${status}`)
        }
      }
    }
    expect(withoutExample).toEqual([])
  })

  it('has examples that each validate against their schema', () => {
    const check = createSchemaChecker()
    const all = examples(doc)
    expect(all.length).toBeGreaterThan(20)
    const invalid = all.map(({ where, schema, value }) => ({ where, ...check(schema, value) })).filter((c) => !c.valid)
    expect(invalid).toEqual([])
  })

  it('tells clients what a url to shorten looks like, not merely "a string"', () => {
    const url = (doc.paths['/api/v1/links']!['post']!.requestBody!.content['application/json']!.schema as { properties: Record<string, object> }).properties['url']
    expect(url).toMatchObject({ type: 'string', minLength: 1, maxLength: 2048, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' })
  })

  it('would catch an example that does not fit its schema', () => {
    const check = createSchemaChecker()
    const [someExample] = examples(doc).filter((e) => e.where.includes('201'))
    expect(check(someExample!.schema, { ...someExample!.value as object, key: 42 }).valid).toBe(false)
  })
})
