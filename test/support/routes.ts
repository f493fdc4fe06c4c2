import type { FastifyInstance } from 'fastify';

export interface Route {
  path: string;
  methods: string[];
}

/** Every route of an app, from printRoutes' tree: each line's segment appended to its parent's path. */
export function routesOf(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.indexOf('── ');
    if (at < 0) continue;
    const depth = (at - 1) / 4;
    const match = /^(.*) \(([A-Z, ]+)\)$/.exec(line.slice(at + 3));
    const segment = match?.[1] ?? line.slice(at + 3);
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + segment;
    stack.push(path);
    if (match) routes.push({ path, methods: (match[2] ?? '').split(', ') });
  }
  return routes;
}
