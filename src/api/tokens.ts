import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createToken, deleteToken, updateToken, viewTokenKey } from '../core/tokens.ts';
import { NotFound, PermissionDenied, ValidationError } from '../errors.ts';
import { findTokenByIdentifier, listTokens, type TokenRow } from '../store/tokens.ts';
import { findUserById } from '../store/users.ts';
import { requestContext, requireActor } from '../web/authentication.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { presentToken, tokenSchema } from './presenters.ts';
import type { ApiDeps } from './users.ts';

const identifier = z.string().regex(/^[-a-zA-Z0-9_.]{1,250}$/, 'Letters, numbers, ".", "_" and "-" only.');
// Recovery and verification tokens are made by the program (CLI, flows), never through the API.
const writableIntent = z.enum(['api', 'app_password']);
const futureDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const tokenCreateSchema = z.strictObject({
  identifier,
  intent: writableIntent.default('api'),
  user: z.number().int().positive().optional(),
  description: z.string().max(1000).default(''),
  expiring: z.boolean().default(true),
  expires: futureDate.nullable().optional(),
});
const tokenPatchSchema = z.strictObject({
  description: z.string().max(1000).optional(),
  expiring: z.boolean().optional(),
  expires: futureDate.nullable().optional(),
});
const identifierParams = z.object({ identifier });
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['identifier', 'expires', 'intent', 'user']),
  identifier: z.string().max(250).optional(),
  intent: z.enum(['api', 'app_password', 'recovery', 'verification']).optional(),
  user__username: z.string().max(150).optional(),
  managed: z.string().max(200).optional(),
});

export const tokensApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  /** A token the caller may act on: any token for a superuser, their own otherwise. */
  async function findOwnedToken(request: FastifyRequest, id: string): Promise<TokenRow> {
    const actor = requireActor(request);
    const token = await findTokenByIdentifier(deps.db, id);
    if (!token || token.intent === 'recovery' || (!actor.isSuperuser && token.user_id !== actor.id)) throw new NotFound();
    return token;
  }
  const present = async (token: TokenRow) => presentToken(token, await findUserById(deps.db, token.user_id));

  app.get('/core/tokens/', {
    schema: { tags: ['core'], querystring: listQuery, response: { 200: paginatedSchema(tokenSchema), 400: errorSchema } },
    handler: async (request) => {
      const actor = requireActor(request);
      const q = request.query;
      const page = await listTokens(
        deps.db,
        {
          search: q.search,
          identifier: q.identifier,
          intent: q.intent,
          username: q.user__username,
          managed: q.managed,
          userId: actor.isSuperuser ? undefined : actor.id,
          ordering: q.ordering,
        },
        { page: q.page, pageSize: q.page_size },
      );
      const rows = await Promise.all(page.rows.map(present));
      return paginate({ rows, count: page.count }, q, (t) => t);
    },
  });

  app.post('/core/tokens/', {
    schema: { tags: ['core'], body: tokenCreateSchema, response: { 201: tokenSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      const actor = requireActor(request);
      const b = request.body;
      const userId = b.user ?? actor.id;
      if (userId !== actor.id && !actor.isSuperuser) throw new PermissionDenied('You can only create tokens for yourself.');
      if (b.expires && b.expires.getTime() <= deps.now().getTime()) throw ValidationError.field('expires', 'Must be in the future.');
      const { token } = await createToken(deps, requestContext(request), {
        identifier: b.identifier,
        intent: b.intent,
        userId,
        description: b.description,
        expiring: b.expiring,
        expires: b.expires ?? null,
      });
      return reply.status(201).send(await present(token));
    },
  });

  app.get('/core/tokens/:identifier/', {
    schema: { tags: ['core'], params: identifierParams, response: { 200: tokenSchema } },
    handler: async (request) => present(await findOwnedToken(request, request.params.identifier)),
  });

  app.patch('/core/tokens/:identifier/', {
    schema: { tags: ['core'], params: identifierParams, body: tokenPatchSchema, response: { 200: tokenSchema, 400: errorSchema } },
    handler: async (request) => {
      const token = await findOwnedToken(request, request.params.identifier);
      const updated = await updateToken(deps, requestContext(request), token, request.body);
      return present(updated);
    },
  });

  app.delete('/core/tokens/:identifier/', {
    schema: { tags: ['core'], params: identifierParams },
    handler: async (request, reply) => {
      const token = await findOwnedToken(request, request.params.identifier);
      await deleteToken(deps, requestContext(request), token);
      return reply.status(204).send();
    },
  });

  app.get('/core/tokens/:identifier/view_key/', {
    schema: { tags: ['core'], params: identifierParams, response: { 200: z.object({ key: z.string() }) } },
    handler: async (request, reply) => {
      const token = await findOwnedToken(request, request.params.identifier);
      reply.header('Cache-Control', 'no-store');
      return { key: await viewTokenKey(deps, requestContext(request), token) };
    },
  });
};
