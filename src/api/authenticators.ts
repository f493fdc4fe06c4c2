import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  DEVICE_KINDS,
  type DeviceKind,
  listDevicesOfUser,
  removeDeviceOfUser,
  renameDeviceOfUser,
  type UserDevice,
} from '../core/userDevices.ts';
import { NotFound } from '../errors.ts';
import { requestContext, requireActor } from '../web/authentication.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /authenticators/: the caller's own MFA devices (/all/ for every kind at once).

const MODEL_OF: Record<DeviceKind, { meta: string; verbose: string }> = {
  totp: { meta: 'authentik_stages_authenticator_totp.totpdevice', verbose: 'TOTP Device' },
  webauthn: { meta: 'authentik_stages_authenticator_webauthn.webauthndevice', verbose: 'WebAuthn Device' },
  static: { meta: 'authentik_stages_authenticator_static.staticdevice', verbose: 'Static Device' },
};

export const deviceSchema = z.object({
  pk: z.string(),
  name: z.string(),
  type: z.string(),
  confirmed: z.boolean(),
  created: z.string(),
  last_updated: z.string(),
  last_used: z.string().nullable(),
  meta_model_name: z.string(),
  verbose_name: z.string(),
  extra_description: z.string().nullable(),
  external_id: z.string().nullable(),
});

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

// Authentik's DeviceSerializer: pk is a string there, as devices of several tables share the list.
export const presentDevice = (device: UserDevice) => ({
  pk: String(device.id),
  name: device.name,
  type: MODEL_OF[device.kind].meta,
  confirmed: true,
  created: iso(device.createdAt) as string,
  // No separate modification time is kept; a device changes only by being renamed.
  last_updated: iso(device.createdAt) as string,
  last_used: iso(device.lastUsed),
  meta_model_name: MODEL_OF[device.kind].meta,
  verbose_name: MODEL_OF[device.kind].verbose,
  extra_description: device.kind === 'static' ? `${device.remaining ?? 0} codes left` : null,
  external_id: null,
});

const kindDeviceSchema = z.object({ pk: z.number().int(), name: z.string() });
const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const deviceName = z.string().trim().min(1).max(64);

export const authenticatorsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function findOwnDevice(userId: number, kind: DeviceKind, id: number): Promise<UserDevice> {
    const device = (await listDevicesOfUser(deps, userId)).find((d) => d.kind === kind && d.id === id);
    if (!device) throw new NotFound();
    return device;
  }

  app.get('/authenticators/all/', {
    schema: { tags: ['authenticators'], response: { 200: z.array(deviceSchema) } },
    handler: async (request) => {
      const actor = requireActor(request);
      return (await listDevicesOfUser(deps, actor.id)).map(presentDevice);
    },
  });

  for (const kind of DEVICE_KINDS) {
    const url = `/authenticators/${kind}/:id/`;
    app.get(url, {
      schema: { tags: ['authenticators'], params: idParams, response: { 200: kindDeviceSchema } },
      handler: async (request) => {
        const device = await findOwnDevice(requireActor(request).id, kind, request.params.id);
        return { pk: device.id, name: device.name };
      },
    });

    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url,
        schema: {
          tags: ['authenticators'],
          params: idParams,
          body: method === 'PUT' ? z.strictObject({ name: deviceName }) : z.strictObject({ name: deviceName.optional() }),
          response: { 200: kindDeviceSchema, 400: errorSchema },
        },
        handler: async (request) => {
          const actor = requireActor(request);
          const { id } = request.params;
          const name = request.body.name;
          if (name !== undefined) await renameDeviceOfUser(deps, requestContext(request), { kind, id, userId: actor.id }, name);
          const device = await findOwnDevice(actor.id, kind, id);
          return { pk: device.id, name: device.name };
        },
      });
    }

    app.delete(url, {
      schema: { tags: ['authenticators'], params: idParams },
      handler: async (request, reply) => {
        const actor = requireActor(request);
        await removeDeviceOfUser(deps, requestContext(request), { kind, id: request.params.id, userId: actor.id });
        return reply.status(204).send();
      },
    });
  }
};
