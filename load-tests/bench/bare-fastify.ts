// The framework floor: a bare Fastify route answering the same 302 on the same Node, with
// nothing else (no logger, no hooks, no lookups). Started by bench.ts: node bare-fastify.ts PORT
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/:key', (_request, reply) => {
  reply.code(302).header('location', 'https://example.com/load/bench').header('cache-control', 'private, max-age=0').send()
})
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 3190) })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
