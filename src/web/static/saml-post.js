// Submits the SAML POST-binding form at once (the page's noscript button does it without JS).
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('saml-post');
  if (form) form.submit();
});
