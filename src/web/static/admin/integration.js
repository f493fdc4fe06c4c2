import { get } from './api.js';
import { copyable, h } from './dom.js';
import { ldapExtras, ldapPanel } from './ldapIntegration.js';
import { publicOrigin } from './ui.js';

// "What to paste into the app": the values and snippets of docs/integrations/, filled in.

export const PROVIDER_PATHS = { oauth2: 'oauth2', proxy: 'proxy', saml: 'saml', ldap: 'ldap' };
export const providerType = (providerObj) => /ak-provider-(\w+)-form/.exec(providerObj?.component ?? '')?.[1] ?? null;
export const TYPE_LABELS = { oauth2: 'OAuth2 / OpenID Connect', proxy: 'Forward auth (Nginx, Traefik, Caddy)', saml: 'SAML 2.0', ldap: 'LDAP' };

export async function loadProvider(app) {
  const type = providerType(app.provider_obj);
  if (!type || !PROVIDER_PATHS[type]) return { type, provider: null };
  const provider = await get(`/providers/${PROVIDER_PATHS[type]}/${app.provider}/`);
  // LDAP: what to paste depends on the outposts serving it and the search group's name.
  return { type, provider, extras: type === 'ldap' ? await ldapExtras(provider) : null };
}

function oidc(app, p, origin) {
  const issuer = `${origin}/application/o/${app.slug}/`;
  return [
    h('p', {}, 'Most apps need only the discovery URL (or issuer), the client ID and the client secret.'),
    copyable('Discovery URL', `${issuer}.well-known/openid-configuration`),
    copyable('Issuer', issuer),
    copyable('Client ID', p.client_id),
    p.client_type === 'confidential' ? copyable('Client secret', p.client_secret) : h('p', { class: 'muted' }, 'Public client: no secret; the app must use PKCE (S256).'),
    copyable('Redirect URIs (registered)', p.redirect_uris.map((r) => r.url).join('\n') || '(none yet — add the app’s callback URL)', { multiline: true }),
    copyable(
      'Endpoints',
      [
        `Authorize: ${origin}/application/o/authorize/`,
        `Token:     ${origin}/application/o/token/`,
        `Userinfo:  ${origin}/application/o/userinfo/`,
        `JWKS:      ${issuer}jwks/`,
        `Sign-out:  ${issuer}end-session/`,
      ].join('\n'),
      { multiline: true },
    ),
    h('p', { class: 'muted' }, 'Scopes: openid profile email (offline_access for refresh tokens). See docs/integrations/oidc.md for Grafana, Gitea, Immich and others.'),
  ];
}

function forwardAuth(p, origin) {
  const appUrl = new URL(p.external_host);
  const isDomain = p.mode === 'forward_domain';
  // Domain mode: external_host is Gatehouse's own address; the app host is any host under the cookie domain.
  const appHost = isDomain ? `app.${p.cookie_domain.replace(/^\./, '')}` : appUrl.host;
  const gatehouseHost = new URL(origin).host;
  const authBase = isDomain ? p.external_host.replace(/\/$/, '') : origin;
  const nginx = `server {
    listen 443 ssl http2;
    server_name ${appHost};

    location /outpost.goauthentik.io {
${isDomain ? '        internal;\n' : ''}        proxy_pass ${origin}/outpost.goauthentik.io;
        proxy_set_header Host $host;
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
    location / {
        auth_request /outpost.goauthentik.io;
        auth_request_set $authentik_username $upstream_http_x_authentik_username;
        auth_request_set $authentik_groups $upstream_http_x_authentik_groups;
        auth_request_set $authentik_email $upstream_http_x_authentik_email;
        proxy_set_header X-authentik-username $authentik_username;
        proxy_set_header X-authentik-groups $authentik_groups;
        proxy_set_header X-authentik-email $authentik_email;
        error_page 401 = @authentik_proxy_signin;
        proxy_pass ${p.internal_host || 'http://127.0.0.1:YOUR_APP_PORT'};
        proxy_set_header Host $host;
    }
    location @authentik_proxy_signin {
        internal;
        return 302 ${isDomain ? authBase : ''}/outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri;
    }
}`;
  const traefik = `http:
  middlewares:
    gatehouse:
      forwardAuth:
        address: ${origin}/outpost.goauthentik.io/auth/traefik
        trustForwardHeader: true
        authResponseHeaders: [X-authentik-username, X-authentik-groups, X-authentik-email, X-authentik-name, X-authentik-uid]
  routers:
    app:
      rule: Host(\`${appHost}\`)
      middlewares: [gatehouse]
      service: app${isDomain ? '' : `
    app-outpost:
      rule: Host(\`${appHost}\`) && PathPrefix(\`/outpost.goauthentik.io/\`)
      service: gatehouse`}`;
  const caddy = `${appHost} {
    route {
        reverse_proxy /outpost.goauthentik.io/* ${gatehouseHost}
        forward_auth ${gatehouseHost} {
            uri /outpost.goauthentik.io/auth/caddy
            copy_headers X-Authentik-Username X-Authentik-Groups X-Authentik-Email X-Authentik-Name X-Authentik-Uid
            trusted_proxies private_ranges
        }
        reverse_proxy ${p.internal_host ? new URL(p.internal_host).host : 'app:8000'}
    }
}`;
  return [
    h('p', {}, isDomain
      ? `Domain mode: one login for every host under ${p.cookie_domain}. Give each app host the block below with its own server_name.`
      : `Single-application mode for ${p.external_host}.`),
    copyable('Nginx', nginx, { multiline: true }),
    copyable('Traefik (dynamic configuration)', traefik, { multiline: true }),
    copyable('Caddy', caddy, { multiline: true }),
    h('p', { class: 'muted' }, 'See docs/integrations/forward-auth.md for the headers apps can read.'),
  ];
}

function saml(app, p, origin) {
  const base = `${origin}/application/saml/${app.slug}`;
  return [
    h('p', {}, 'Give the SP the metadata URL (most fetch it), or the SSO URL, entity ID and certificate.'),
    copyable('Metadata URL', `${base}/metadata/`),
    h('p', {}, h('a', { class: 'button secondary', href: `${base}/metadata/?download`, download: `${app.slug}-metadata.xml` }, 'Download metadata')),
    copyable('IdP entity ID (issuer)', p.issuer),
    copyable('SSO URL (HTTP-Redirect)', `${base}/sso/binding/redirect/`),
    copyable('SSO URL (HTTP-POST)', `${base}/sso/binding/post/`),
    copyable('SLO URL (HTTP-Redirect)', `${base}/slo/binding/redirect/`),
    copyable('Signing certificate', p.signing_certificate, { multiline: true }),
  ];
}

/** The "connect your app" panel for an application and its provider. */
export function integrationPanel(app, type, provider, extras) {
  const origin = publicOrigin();
  if (!provider) return h('p', { class: 'muted' }, 'This application has no provider: it is a link in the app library only.');
  const body = type === 'oauth2' ? oidc(app, provider, origin) : type === 'proxy' ? forwardAuth(provider, origin) : type === 'saml' ? saml(app, provider, origin) : type === 'ldap' ? ldapPanel(provider, extras) : [];
  return h('section', { class: 'integration', 'aria-labelledby': 'connect' }, h('h2', { id: 'connect' }, 'Connect the app'), body);
}
