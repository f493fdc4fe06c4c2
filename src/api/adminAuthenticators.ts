import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEVICE_KINDS, listDevicesOfUser, removeDeviceOfUser } from '../core/userDevices.ts';
import { NotFound } from '../errors.ts';
import { findUserById } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { deviceSchema, presentDevice } from './authenticators.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /authenticators/admin/: any user's MFA devices, for superusers (the admin UI's user
// page). Removing one needs its owner (`?user=`), as device ids are per kind, not global.

const userQuery = z.object({ user: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });

export const adminAuthenticatorsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/authenticators/admin/all/', {
    schema: { tags: ['authenticators'], querystring: userQuery, response: { 200: z.array(deviceSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      if (!(await findUserById(deps.db, request.query.user))) throw new NotFound();
      return (await listDevicesOfUser(deps, request.query.user)).map(presentDevice);
    },
  });

  for (const kind of DEVICE_KINDS) {
    app.delete(`/authenticators/admin/${kind}/:id/`, {
      schema: { tags: ['authenticators'], params: idParams, querystring: userQuery },
      handler: async (request, reply) => {
        requireSuperuser(request);
        await removeDeviceOfUser(deps, requestContext(request), { kind, id: request.params.id, userId: request.query.user });
        return reply.status(204).send();
      },
    });
  }
};
