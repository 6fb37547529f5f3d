// The playground page at `/`: pick a language, write a program, give stdin and limits, Run; it shows the
// verdict, stdout, stderr, time and memory. A static page and script, read once at start, that use the
// native API like any client (POST /v1/jobs, then its Server-Sent Events).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'playground');

export function playgroundRoutes(app: FastifyInstance): void {
  const page = readFileSync(join(dir, 'index.html'), 'utf8');
  const script = readFileSync(join(dir, 'app.js'), 'utf8');
  const headers = {
    'cache-control': 'no-cache',
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  };
  app.get('/', { schema: { hide: true } as object }, async (_req, reply) => reply.headers(headers).type('text/html; charset=utf-8').send(page));
  app.get('/playground/app.js', { schema: { hide: true } as object }, async (_req, reply) => reply.headers(headers).type('text/javascript; charset=utf-8').send(script));
}
