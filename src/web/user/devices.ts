import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../../core/context.ts';
import { DEVICE_KINDS, listDevicesOfUser, removeDeviceOfUser, renameDeviceOfUser, type UserDevice } from '../../core/userDevices.ts';
import { NotFound } from '../../errors.ts';
import { findFlowBySlug } from '../../store/flows.ts';
import type { SignedInBrowser } from '../browserSession.ts';
import { html, type SafeHtml } from '../html.ts';
import { contextOf, enterUserArea, parseForm } from './guard.ts';
import { doneNotice, type Notice, sendHtml, USER_AREA_PATHS, userAreaPage, when } from './layout.ts';

const HERE = USER_AREA_PATHS.devices;

// The setup flows a user can start from here; one is shown only while its flow exists.
const SETUP_FLOWS = [
  { slug: 'default-authenticator-totp-setup', label: 'Authenticator app', hint: 'Codes from an app such as Aegis, Bitwarden or Google Authenticator' },
  { slug: 'default-authenticator-webauthn-setup', label: 'Passkey or security key', hint: 'Touch ID, Windows Hello, a YubiKey, …' },
  { slug: 'default-authenticator-static-setup', label: 'Recovery codes', hint: 'One-time codes for when your other devices are lost' },
];

const deviceRef = {
  kind: z.enum(DEVICE_KINDS, { error: 'Unknown kind of device.' }),
  id: z.coerce.number({ error: 'Unknown device.' }).int('Unknown device.').positive('Unknown device.').max(2 ** 31 - 1, 'Unknown device.'),
};
const renameForm = z.object({
  ...deviceRef,
  name: z.string({ error: 'Enter a name.' }).trim().min(1, 'Enter a name.').max(64, 'A name has at most 64 characters.'),
});
const removeForm = z.object(deviceRef);

function kindLabel(device: UserDevice): string {
  switch (device.kind) {
    case 'totp':
      return 'Authenticator app';
    case 'webauthn':
      return device.webauthnType === 'multiDevice' ? 'Passkey' : 'Security key';
    case 'static':
      return `Recovery codes (${device.remaining ?? 0} left)`;
  }
}

function deviceRow(device: UserDevice, now: Date): SafeHtml {
  const hidden = html`<input type="hidden" name="kind" value="${device.kind}"><input type="hidden" name="id" value="${device.id}">`;
  return html`<tr>
<td><form method="post" action="${HERE}rename/" class="rename">${hidden}
<input type="text" name="name" value="${device.name}" maxlength="64" required aria-label="Name of ${device.name}">
<button type="submit" class="secondary">Rename</button></form></td>
<td data-label="Type">${kindLabel(device)}</td>
<td data-label="Added">${when(device.createdAt, now)}</td>
<td data-label="Last used">${when(device.lastUsed, now)}</td>
<td><form method="post" action="${HERE}remove/">${hidden}<button type="submit" class="danger">Remove</button></form></td>
</tr>`;
}

async function renderDevicesPage(deps: CoreDeps, browser: SignedInBrowser, notice: Notice | null): Promise<string> {
  const [devices, flows] = await Promise.all([
    listDevicesOfUser(deps, browser.user.id),
    Promise.all(SETUP_FLOWS.map(async (flow) => ((await findFlowBySlug(deps.db, flow.slug)) ? flow : null))),
  ]);
  const now = deps.now();
  const next = encodeURIComponent(HERE);
  const available = flows.filter((f) => f !== null);
  const content = html`<h1>MFA devices</h1>
<p class="muted">A second factor keeps your account safe when your password is not. Sign-ins ask for one of these.</p>
${
  devices.length === 0
    ? html`<div class="empty-state"><p><strong>No MFA devices yet.</strong></p><p class="muted">Add one below.</p></div>`
    : html`<div class="table-scroll"><table>
<thead><tr><th>Name</th><th>Type</th><th>Added</th><th>Last used</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${devices.map((d) => deviceRow(d, now))}</tbody></table></div>`
}
<h2>Add a device</h2>
<ul class="setup-list">${available.map(
    (flow) => html`<li><a class="button secondary" href="/if/flow/${flow.slug}/?next=${next}">${flow.label}</a> <span class="muted">${flow.hint}</span></li>`,
  )}</ul>`;
  return userAreaPage({ title: 'MFA devices', user: browser.user, section: 'devices', notice, content });
}

/** /if/user/devices/: the user's own authenticators; rename and remove (each audited). */
export const userDeviceRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  const answer = async (reply: FastifyReply, browser: SignedInBrowser, status: number, message: string) =>
    sendHtml(reply, status, await renderDevicesPage(deps, browser, { kind: 'error', text: message }));

  app.get(HERE, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    return sendHtml(reply, 200, await renderDevicesPage(deps, browser, doneNotice(request.query)));
  });

  app.post(`${HERE}rename/`, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    const form = parseForm(renameForm, request.body);
    if (!form.ok) return answer(reply, browser, 400, form.message);
    try {
      await renameDeviceOfUser(deps, contextOf(request, browser), { ...form.data, userId: browser.user.id }, form.data.name);
    } catch (error) {
      if (error instanceof NotFound) return answer(reply, browser, 404, 'No such device.');
      throw error;
    }
    return reply.redirect(`${HERE}?done=device_renamed`, 303);
  });

  app.post(`${HERE}remove/`, async (request, reply) => {
    const browser = await enterUserArea(deps, request, reply, HERE);
    if (!browser) return reply;
    const form = parseForm(removeForm, request.body);
    if (!form.ok) return answer(reply, browser, 400, form.message);
    try {
      await removeDeviceOfUser(deps, contextOf(request, browser), { ...form.data, userId: browser.user.id });
    } catch (error) {
      if (error instanceof NotFound) return answer(reply, browser, 404, 'No such device.');
      throw error;
    }
    return reply.redirect(`${HERE}?done=device_removed`, 303);
  });
};
