import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import proxyAddr from '@fastify/proxy-addr';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { applicationAccessApi } from '../api/applicationAccess.ts';
import { applicationsApi } from '../api/applications.ts';
import { authenticatedSessionsApi } from '../api/authenticatedSessions.ts';
import { authenticatorsApi } from '../api/authenticators.ts';
import { blueprintsApi } from '../api/blueprints.ts';
import { eventsApi } from '../api/events.ts';
import { eventVolumeApi } from '../api/eventVolume.ts';
import { flowsApi } from '../api/flows.ts';
import { groupsApi } from '../api/groups.ts';
import { permissionAssignmentsApi } from '../api/permissionAssignments.ts';
import { rolesApi } from '../api/roles.ts';
import { offboardingApi } from '../api/offboarding.ts';
import { adminAuthenticatorsApi } from '../api/adminAuthenticators.ts';
import { recoveryEmailApi } from '../api/recoveryEmail.ts';
import { recoveryLinksApi } from '../api/recoveryLinks.ts';
import { policiesApi } from '../api/policies.ts';
import { invitationsApi } from '../api/invitations.ts';
import { systemTasksApi } from '../api/systemTasks.ts';
import { providersApi } from '../api/providers.ts';
import { proxyProvidersApi } from '../api/proxyProviders.ts';
import { samlProvidersApi } from '../api/samlProviders.ts';
import { ldapProvidersApi } from '../api/ldapProviders.ts';
import { outpostsApi } from '../api/outposts.ts';
import { ldapBindFlowApi } from '../providers/ldap/bindFlowApi.ts';
import { ldapOutpostApi } from '../providers/ldap/outpostApi.ts';
import { stagesApi } from '../api/stages.ts';
import { tokensApi } from '../api/tokens.ts';
import { type ApiDeps, usersApi } from '../api/users.ts';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import { redactUrl } from '../log.ts';
import { oauth2Routes } from '../providers/oauth2/routes.ts';
import { PROXY_QUESTIONS, proxyRoutes } from '../providers/proxy/routes.ts';
import { samlRoutes } from '../providers/saml/routes.ts';
import { findInstallationId } from '../store/users.ts';
import { resolveCaller, toActor } from './authentication.ts';
import { avatarRoutes } from './avatars.ts';
import { brandFromConfig, useBrand } from './brand.ts';
import { useExternalOrigin } from './csrf.ts';
import { apiErrorHandler } from './errors.ts';
import { flowExecutorRoutes } from './flowExecutor.ts';
import { flowPageRoutes } from './flowPages.ts';
import { healthRoutes } from './health.ts';
import { earlyAnsweringServerFactory } from './httpServer.ts';
import { rateLimits } from './rateLimits.ts';
import { recoveryRoutes } from './recovery.ts';
import { rootRoutes } from './root.ts';
import { staticFileRoutes } from './staticFiles.ts';
import { userAreaRoutes } from './userArea.ts';
import { adminAreaRoutes } from './adminArea.ts';

export interface AppOptions {
  config: Pick<Config, 'listen' | 'brand' | 'external_url'> & Partial<Pick<Config, 'blueprints_dir'>>;
  deps: CoreDeps;
  logger: Logger;
}

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
// Fastify types these builders for Ajv; they are called with the same arguments, which zod's ignore.
const zodCompilers = { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } as unknown as CompilersFactory;

/** Builds the HTTP core; it never listens, so tests drive it with inject(). */
export async function buildApp({ config, deps, logger }: AppOptions): Promise<FastifyInstance> {
  useBrand(brandFromConfig(config));
  useExternalOrigin(config.external_url);
  // Compiled once and shared: Fastify's request.ip and forward auth's early answer read the
  // client's address with the same trust.
  const trustProxy = proxyAddr.compile([...config.listen.trusted_proxy_cidrs]);
  const { slot: earlyAnswer, serverFactory } = earlyAnsweringServerFactory(logger);
  const app = Fastify({
    loggerInstance: logger,
    serverFactory,
    // Our own id for every request; a client-sent one is not trusted into the logs.
    genReqId: () => randomUUID(),
    trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 600 },
    // Requests are logged once, on response, by the hook below (with secrets cut from the URL).
    logController: new LogController({ disableRequestLogging: true }),
    // Every route validates and serializes with zod. Given here (not with setValidatorCompiler
    // afterwards), Fastify never loads its default Ajv and fast-json-stringify compilers: ~4 MiB.
    schemaController: { compilersFactory: zodCompilers },
  }).withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(apiErrorHandler as Parameters<typeof app.setErrorHandler>[0]);
  // Closing: Fastify answers 503 and plugins stop (forward auth flushes its access counts), so
  // nothing may be answered around it any more.
  app.addHook('preClose', async () => earlyAnswer.clear());
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ detail: 'Not found.' }));

  // An empty JSON body is no body: clients such as curl send Content-Type on a bare DELETE.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    parseJson(request, text, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  const { metrics } = deps;
  app.addHook('onResponse', async (request, reply) => {
    // Routes that log warnings only (forward auth's questions) skip building the line.
    if (!(request.log as Logger).isLevelEnabled('info')) return;
    request.log.info(
      { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime), ip: request.ip },
      'request',
    );
    // The route pattern (/api/v3/core/users/:id/), never the URL: bounded labels, no names or
    // tokens. Forward auth's questions (6-8k a second) have their own counter: a histogram
    // observation costs microseconds (label hashing), a counter slot nanoseconds.
    const route = request.routeOptions.url ?? 'unmatched';
    if (metrics && !PROXY_QUESTIONS.has(route)) metrics.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  await app.register(cookie);
  await app.register(rateLimits, { deps });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Gatehouse', version: '3', description: 'Gatehouse API v3 (Authentik-compatible paths and fields)' },
      servers: [{ url: '/api/v3' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  let installationId: Promise<string> | null = null;
  const apiDeps: ApiDeps = {
    ...deps,
    installationId: () => {
      installationId ??= findInstallationId(deps.db).catch((error) => {
        installationId = null;
        throw error;
      });
      return installationId;
    },
  };

  await app.register(healthRoutes, { deps });
  await app.register(rootRoutes, { deps });
  await app.register(avatarRoutes);
  await app.register(recoveryRoutes, { deps });
  await app.register(userAreaRoutes, { deps });
  await app.register(adminAreaRoutes, { deps, externalUrl: config.external_url });
  await app.register(staticFileRoutes);
  await app.register(flowExecutorRoutes, { deps });
  await app.register(flowPageRoutes, { deps });
  await app.register(oauth2Routes, { deps, externalUrl: config.external_url });
  await app.register(proxyRoutes, { deps, externalUrl: config.external_url, earlyAnswer, trustProxy });
  await app.register(samlRoutes, { deps, externalUrl: config.external_url });
  await app.register(
    async (api) => {
      api.decorateRequest('actor', null);
      api.decorateRequest('actorUser', null);
      api.decorateRequest('actorGroups', null);
      api.addHook('preHandler', async (request) => {
        const caller = await resolveCaller(deps, request);
        request.actorUser = caller;
        request.actorGroups = caller && 'groups' in caller ? caller.groups : null;
        request.actor = caller ? toActor(caller) : null;
      });
      api.get('/schema/', { schema: { hide: true } }, async () => app.swagger());
      await api.register(usersApi, { deps: apiDeps });
      await api.register(groupsApi, { deps: apiDeps });
      await api.register(rolesApi, { deps: apiDeps });
      await api.register(permissionAssignmentsApi, { deps: apiDeps });
      await api.register(tokensApi, { deps: apiDeps });
      await api.register(eventVolumeApi, { deps: apiDeps });
      await api.register(eventsApi, { deps: apiDeps });
      await api.register(flowsApi, { deps: apiDeps });
      await api.register(stagesApi, { deps: apiDeps });
      await api.register(policiesApi, { deps: apiDeps });
      await api.register(authenticatedSessionsApi, { deps: apiDeps });
      await api.register(authenticatorsApi, { deps: apiDeps });
      await api.register(applicationsApi, { deps: apiDeps });
      await api.register(providersApi, { deps: apiDeps });
      await api.register(proxyProvidersApi, { deps: apiDeps });
      await api.register(applicationAccessApi, { deps: apiDeps });
      await api.register(samlProvidersApi, { deps: apiDeps });
      await api.register(ldapProvidersApi, { deps: apiDeps });
      await api.register(outpostsApi, { deps: apiDeps });
      await api.register(ldapOutpostApi, { deps: apiDeps });
      await api.register(ldapBindFlowApi, { deps: apiDeps });
      await api.register(invitationsApi, { deps: apiDeps });
      await api.register(systemTasksApi, { deps: apiDeps });
      await api.register(offboardingApi, { deps: apiDeps });
      await api.register(adminAuthenticatorsApi, { deps: apiDeps });
      await api.register(recoveryLinksApi, { deps: apiDeps, externalUrl: config.external_url });
      await api.register(recoveryEmailApi, { deps: apiDeps });
      await api.register(blueprintsApi, { deps: apiDeps, dir: config.blueprints_dir ?? './blueprints' });
    },
    { prefix: '/api/v3' },
  );
  return app as unknown as FastifyInstance;
}
