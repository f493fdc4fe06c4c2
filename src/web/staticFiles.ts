import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

const DIR = new URL('./static/', import.meta.url);
const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** /static/<file>: the few assets the pages use, read once at start (no directory walking at request time). */
export const staticFileRoutes: FastifyPluginAsync = async (app) => {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(DIR)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type) files.set(name, { body: readFileSync(new URL(name, DIR)), type });
  }
  for (const [name, file] of files) {
    app.get(`/static/${name}`, async (_request, reply) =>
      reply.type(file.type).header('Cache-Control', 'public, max-age=3600').header('X-Content-Type-Options', 'nosniff').send(file.body),
    );
  }
};
