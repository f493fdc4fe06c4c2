import type { CookieSerializeOptions } from '@fastify/cookie';
import type { ProxyProviderRow } from '../../store/proxyProviders.ts';

/**
 * The app session cookie: HttpOnly, SameSite=Lax (the login comes back by a top-level
 * navigation), Secure when the app is served over https. Domain mode sets it on the cookie
 * domain, so every host under it sends it; single mode leaves it on the app's own host.
 */
export function forwardCookieOptions(provider: ProxyProviderRow, maxAgeSeconds: number): CookieSerializeOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: provider.external_host.startsWith('https:'),
    maxAge: maxAgeSeconds,
    ...(provider.mode === 'forward_domain' ? { domain: provider.cookie_domain } : {}),
  };
}

/** The single-mode handoff state: on the app host, only for the callback path, ten minutes. */
export function handoffCookieOptions(provider: ProxyProviderRow, maxAgeSeconds: number): CookieSerializeOptions {
  return { path: '/outpost.goauthentik.io/', httpOnly: true, sameSite: 'lax', secure: provider.external_host.startsWith('https:'), maxAge: maxAgeSeconds };
}
