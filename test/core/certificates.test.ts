import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { certificateBody, generateSigningCertificate, normaliseCertificate } from '../../src/core/certificates.ts';

test('every generated certificate parses, is self-signed by its key, and names its subject and validity', async () => {
  const now = new Date('2026-01-02T03:04:05Z');
  // Many rounds: a serial number with a leading zero octet once made one in 128 unparsable.
  for (let i = 0; i < 24; i += 1) {
    const { privateKeyPem, certificatePem } = await generateSigningCertificate(`gatehouse SAML app-${i}`, now);
    const certificate = new X509Certificate(certificatePem);
    assert.equal(certificate.subject, `CN=gatehouse SAML app-${i}`);
    assert.equal(certificate.issuer, certificate.subject);
    assert.ok(certificate.verify(certificate.publicKey));
    assert.ok(certificate.checkPrivateKey(createPrivateKey(privateKeyPem)));
    assert.equal(new Date(certificate.validFrom).toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(new Date(certificate.validTo).toISOString(), '2036-01-02T03:04:05.000Z');
  }
});

test('a certificate is accepted as PEM or bare base64 and refused otherwise', async () => {
  const { certificatePem } = await generateSigningCertificate('x', new Date());
  assert.equal(normaliseCertificate(certificatePem), certificatePem);
  assert.equal(normaliseCertificate(certificateBody(certificatePem)), certificatePem);
  assert.equal(normaliseCertificate('not a certificate'), null);
  assert.equal(normaliseCertificate(Buffer.from('hello').toString('base64')), null);
});
