import { createPublicKey } from 'node:crypto';
import { encrypt } from 'xml-encryption';
import { SamlError } from './errors.ts';
import { NS, onlyChild, parseXml, serialize } from './xml.ts';

// Assertion encryption to the SP's certificate (SAML Core §2.3.4 EncryptedAssertion): AES-256-GCM
// for the content, RSA-OAEP for the key. The assertion is signed first, so the SP verifies what
// it decrypts.

const CONTENT_ALGORITHM = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
const KEY_ALGORITHM = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

function encryptText(content: string, certificatePem: string): Promise<string> {
  const publicKey = createPublicKey(certificatePem).export({ type: 'spki', format: 'pem' }) as string;
  return new Promise((resolve, reject) => {
    encrypt(
      content,
      { rsa_pub: publicKey, pem: certificatePem, encryptionAlgorithm: CONTENT_ALGORITHM, keyEncryptionAlgorithm: KEY_ALGORITHM },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** The Response with its Assertion replaced by <saml:EncryptedAssertion>. */
export async function encryptAssertion(responseXml: string, certificatePem: string): Promise<string> {
  const doc = parseXml(responseXml, 'response');
  const assertion = onlyChild(doc.documentElement, NS.saml, 'Assertion');
  if (!assertion) throw new SamlError('unsupported', 'The response has no assertion to encrypt.');
  const encryptedData = parseXml(await encryptText(serialize(assertion), certificatePem), 'encrypted assertion').documentElement;
  const wrapper = doc.createElementNS(NS.saml, 'saml:EncryptedAssertion');
  wrapper.appendChild(doc.importNode(encryptedData, true));
  doc.documentElement.replaceChild(wrapper, assertion);
  return serialize(doc);
}
