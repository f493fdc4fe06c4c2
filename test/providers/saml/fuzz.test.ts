import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { createTestApp, type TestApp } from '../../support/app.ts';
import { authnRequestXml, logoutRequestXml } from './messages.ts';
import { addSamlApp, endpoints, spKeys } from './spHarness.ts';

// Mutated SAML messages (seeded, so a failure replays): whatever arrives, the answer is a
// redirect to resume (an intact request) or the 400 refusal page — never a 500.

let t: TestApp;

/** mulberry32: a small seeded PRNG. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const SNIPPETS = ['<', '>', '&', '"', "'", '<!--x-->', '<![CDATA[x]]>', '<?pi x?>', '\u0000', '\uFFFE', 'xmlns:a="b"', '<a:b/>', '</samlp:AuthnRequest>', '=', ' '];

function mutate(text: string, next: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(next() * 4);
  for (let i = 0; i < edits; i += 1) {
    const at = Math.floor(next() * out.length);
    const choice = next();
    if (choice < 0.3) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(next() * 20));
    else if (choice < 0.6) out = out.slice(0, at) + SNIPPETS[Math.floor(next() * SNIPPETS.length)] + out.slice(at);
    else if (choice < 0.8) out = out.slice(0, at);
    else out = out.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x3000)) + out.slice(at + 1);
  }
  return out;
}

before(async () => {
  t = await createTestApp();
  await addSamlApp(t, 'open', { sp_binding: 'post' });
  await addSamlApp(t, 'guarded', { sp_binding: 'post', verification_certificate: spKeys.certificatePem });
});
after(() => t.close());

test('200 mutated AuthnRequests and LogoutRequests over both bindings: each is resumed or refused, never a 500', async () => {
  const next = random(Number(process.env.SAML_FUZZ_SEED ?? 20261127));
  const counts = new Map<number, number>();
  for (let i = 0; i < 200; i += 1) {
    const slug = next() < 0.5 ? 'open' : 'guarded';
    const isLogout = next() < 0.3;
    const xml = isLogout
      ? logoutRequestXml({ destination: endpoints(slug).sloPost, nameId: 'someone', sessionIndex: '_x' })
      : authnRequestXml({ destination: endpoints(slug).ssoPost });
    const mutated = mutate(xml, next);
    const kind = isLogout ? 'slo' : 'sso';
    // A client address per request: refusals from one address are rate-limited (src/web/rateLimits.ts).
    const client = `192.0.2.${i % 250}`;
    const res =
      next() < 0.5
        ? await t.app.inject({
            method: 'POST',
            url: `/application/saml/${slug}/${kind}/binding/post/`,
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
            payload: new URLSearchParams({ SAMLRequest: Buffer.from(mutated).toString('base64') }).toString(),
          })
        : await t.app.inject({
            method: 'GET',
            url: `/application/saml/${slug}/${kind}/binding/redirect/?SAMLRequest=${encodeURIComponent(deflateRawSync(mutated).toString('base64'))}`,
            headers: { 'x-forwarded-for': client },
          });
    counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
    assert.ok([200, 303, 400].includes(res.statusCode), `#${i} ${res.statusCode}: ${mutated}\n${res.body.slice(0, 300)}`);
    if (res.statusCode === 200) assert.match(res.body, /Signed out/, 'a 200 only for a logout that parsed');
  }
  assert.ok((counts.get(400) ?? 0) > 100, `most mutations are refused: ${JSON.stringify([...counts])}`);
});
