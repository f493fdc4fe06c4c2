import { escapeHtml } from '../../web/html.ts';

// Mail bodies, text and HTML, with the installation's brand. Every value is escaped; links are
// built by the caller from GATEHOUSE_EXTERNAL_URL, never from a request's Host header.

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface Parts {
  subject: string;
  heading: string;
  lines: string[];
  action?: { label: string; url: string };
  footer?: string;
}

function render(brandTitle: string, parts: Parts): RenderedMail {
  const text = [
    parts.heading,
    '',
    ...parts.lines,
    ...(parts.action ? ['', `${parts.action.label}: ${parts.action.url}`] : []),
    ...(parts.footer ? ['', parts.footer] : []),
    '',
    `— ${brandTitle}`,
  ].join('\n');
  const button = parts.action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(parts.action.url)}" style="background:#1f6feb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${escapeHtml(parts.action.label)}</a></p>
<p style="font-size:12px;color:#57606a">Or open this address: ${escapeHtml(parts.action.url)}</p>`
    : '';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(parts.subject)}</title></head>
<body style="font-family:system-ui,sans-serif;color:#1f2328;max-width:560px;margin:0 auto;padding:24px">
<p style="font-weight:600;font-size:18px">${escapeHtml(brandTitle)}</p>
<h1 style="font-size:20px">${escapeHtml(parts.heading)}</h1>
${parts.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${button}
${parts.footer ? `<p style="font-size:12px;color:#57606a">${escapeHtml(parts.footer)}</p>` : ''}
</body></html>`;
  return { subject: parts.subject, text, html };
}

const IGNORE = 'If you did not ask for this, ignore this mail; nothing changes.';

export const passwordResetMail = (brand: string, subject: string, name: string, url: string, minutes: number) =>
  render(brand, {
    subject,
    heading: `Hello ${name},`,
    lines: [`Someone asked to reset the password of your ${brand} account. The link works once, for ${minutes} minutes.`],
    action: { label: 'Choose a new password', url },
    footer: `${IGNORE} Using the link signs you out everywhere else.`,
  });

export const accountConfirmationMail = (brand: string, subject: string, name: string, url: string, minutes: number) =>
  render(brand, {
    subject,
    heading: `Hello ${name},`,
    lines: [`Confirm your email address to finish creating your ${brand} account. The link works once, for ${minutes} minutes.`],
    action: { label: 'Confirm my email address', url },
    footer: IGNORE,
  });

export const invitationMail = (brand: string, url: string, expires: string | null) =>
  render(brand, {
    subject: `You are invited to ${brand}`,
    heading: 'You are invited',
    lines: [`Create your ${brand} account with this link${expires ? `; it works until ${expires}` : ''}.`],
    action: { label: 'Create my account', url },
  });

export const signInNoticeMail = (brand: string, name: string, at: string, ip: string, browser: string, sessionsUrl: string) =>
  render(brand, {
    subject: `New sign-in to your ${brand} account`,
    heading: `Hello ${name},`,
    lines: [`Your account was signed in to from a browser or address not seen before.`, `When: ${at}`, `Address: ${ip}`, `Browser: ${browser}`],
    action: { label: 'Review your sessions', url: sessionsUrl },
    footer: 'If this was not you, change your password at once and end the other sessions.',
  });

export const mfaChangedMail = (brand: string, name: string, action: string, device: string, url: string) =>
  render(brand, {
    subject: `Your ${brand} sign-in methods changed`,
    heading: `Hello ${name},`,
    lines: [`An authenticator was ${action}: ${device}.`],
    action: { label: 'Review your authenticators', url },
    footer: 'If this was not you, change your password at once and tell your administrator.',
  });

export const backupFailedMail = (brand: string, file: string, problems: string[]) =>
  render(brand, {
    subject: `${brand}: the backup check FAILED`,
    heading: 'The latest backup did not pass its restore check',
    lines: [`Backup: ${file}`, ...problems.map((p) => `Problem: ${p}`), 'Until a backup passes, do not count on being able to restore.'],
  });
