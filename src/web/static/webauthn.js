// WebAuthn for the flow pages: the only script they load (CSP `script-src 'self'`, nothing inline).
// The form carries the options the server made (data-webauthn-create for registration,
// data-webauthn-get for sign-in); this asks the browser for a credential, puts its JSON into the
// hidden input and submits the form, so the server sees the same answer the JSON executor takes.
(() => {
  const form = document.getElementById('webauthn-form');
  const button = document.getElementById('webauthn-start');
  const output = document.getElementById('webauthn-response');
  if (!form || !button || !output) return;

  const createJson = form.dataset.webauthnCreate;
  const getJson = form.dataset.webauthnGet;

  function showError(message) {
    let el = document.getElementById('webauthn-client-error');
    if (!el) {
      el = document.createElement('p');
      el.id = 'webauthn-client-error';
      el.className = 'error';
      el.setAttribute('role', 'alert');
      button.insertAdjacentElement('afterend', el);
    }
    el.textContent = message;
  }

  // Names of the DOMExceptions browsers raise, in words a person can act on.
  function describe(error) {
    switch (error?.name) {
      case 'NotAllowedError':
        return 'The request was cancelled or timed out. Try again.';
      case 'InvalidStateError':
        return 'This authenticator is already registered for your account.';
      case 'NotSupportedError':
        return 'This authenticator does not support what this site asks for.';
      case 'SecurityError':
        return 'Passkeys need a secure address (https, or localhost).';
      default:
        return `Your browser refused: ${error?.message || error}`;
    }
  }

  function supportsJsonOptions() {
    return (
      typeof window.PublicKeyCredential === 'function' &&
      typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
      typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
    );
  }

  async function askBrowser() {
    if (createJson) {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(createJson));
      return navigator.credentials.create({ publicKey });
    }
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(getJson));
    return navigator.credentials.get({ publicKey });
  }

  async function start() {
    if (!supportsJsonOptions()) {
      showError('This browser cannot use passkeys. Use a current browser, or another way to sign in.');
      return;
    }
    button.disabled = true;
    try {
      const credential = await askBrowser();
      if (!credential) throw new Error('no credential');
      output.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      showError(describe(error));
      button.disabled = false;
    }
  }

  if (!createJson && !getJson) return;
  button.addEventListener('click', () => {
    start();
  });
})();
