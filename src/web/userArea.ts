import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { userDeviceRoutes } from './user/devices.ts';
import { userHomeRoutes } from './user/home.ts';
import { userPasswordRoutes } from './user/password.ts';
import { userSessionRoutes } from './user/sessions.ts';

/**
 * /if/user/: the user area, server-rendered HTML forms that work without JavaScript. Each section
 * is one file under ./user/: the app library (home), MFA devices, password, sessions. Every page
 * requires a signed-in browser (else a redirect to the login, which comes back), every POST must
 * pass the CSRF check, and every change is audited.
 */
export const userAreaRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  await app.register(userHomeRoutes, { deps });
  await app.register(userDeviceRoutes, { deps });
  await app.register(userPasswordRoutes, { deps });
  await app.register(userSessionRoutes, { deps });
};
