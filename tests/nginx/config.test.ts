import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { image } from '../deploy/helpers.ts'
import { nginxTest, ROOT, testEnv } from './edge.ts'

// `nginx -t` on the shared nginx/*.conf assembled with env files, as scripts/infra.sh does.
const envFile = (name: string) => readFile(join(ROOT, 'nginx', 'env', `${name}.conf`), 'utf8')
const valid = () => testEnv({ port: 8080, create: ['127.0.0.1:3001'], redirect: ['127.0.0.1:3002'] })

describe('nginx configuration', () => {
  it('passes nginx -t with the local stack\'s env (nginx/env/local.conf)', async () => {
    const result = await nginxTest({ 'local.conf': await envFile('local') })
    expect(result.output).toContain('test is successful')
    expect(result.ok).toBe(true)
  })

  it('passes nginx -t with the load-test add-on (SW_NGINX_ENV="local load-test")', async () => {
    const result = await nginxTest({ 'local.conf': await envFile('local'), 'load-test.conf': await envFile('load-test') })
    expect(result.ok).toBe(true)
  })

  const environments: Array<[string, () => Promise<string>]> = [
    ['nginx/env/local.conf', () => envFile('local')],
    ['the image\'s env.d/container.conf (nginx/Dockerfile)', async () => image('nginx').stages.at(-1)!.copies.find((c) => c.dest === '/etc/nginx/env.d/container.conf')?.inline?.[0]?.data ?? '']
  ]

  // The env files hold the zones (their rates are the environment's), so each could key them
  // wrongly: the API zones must be keyed by credential and by address as nginx.conf intends.
  it.each(environments)('%s keys the API zones: anonymous requests by address, API keys by key, and every request by address', async (_name, read) => {
    const text = await read()
    expect(text).toMatch(/^limit_req_zone \$sw_api_anonymous +zone=api:/m)
    expect(text).toMatch(/^limit_req_zone \$sw_api_key +zone=api_key:/m)
    expect(text).toMatch(/^limit_req_zone \$binary_remote_addr +zone=api_addr:/m)
    expect(text).toMatch(/^limit_req_zone \$binary_remote_addr +zone=redirect:/m)
  })

  // Sampled on the trace id, not per request: every nginx replica, and every request of a trace
  // a caller continues, decides the same for a trace.
  it.each(environments)('%s samples traces on the trace id', async (_name, read) => {
    expect(await read()).toMatch(/^split_clients "\$sw_trace_id" \$sw_trace_sampled \{/m)
  })

  it.each([
    ['upstream create_service', /upstream create_service \{[^}]*\}/, 'create_service'],
    ['upstream redirect_service', /upstream redirect_service \{[^}]*\}/, 'redirect_service'],
    ['limit zone api', /limit_req_zone [^\n]*zone=api:[^\n]*\n/, '"api"'],
    ['limit zone api_key', /limit_req_zone [^\n]*zone=api_key:[^\n]*\n/, '"api_key"'],
    ['limit zone api_addr', /limit_req_zone [^\n]*zone=api_addr:[^\n]*\n/, '"api_addr"'],
    ['limit zone redirect', /limit_req_zone [^\n]*zone=redirect:[^\n]*\n/, '"redirect"'],
    ['the trace sampling ($sw_trace_sampled)', /split_clients [^{]*\{[^}]*\}/, '"sw_trace_sampled"']
  ])('fails nginx -t, naming it, when the env does not define %s', async (_what, directive, named) => {
    const env = valid()
    expect(env).toMatch(directive)
    const result = await nginxTest({ 'test.conf': env.replace(directive, '') })
    expect(result.ok).toBe(false)
    expect(result.output).toContain(named)
  })
})
