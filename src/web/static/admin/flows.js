import { api, get, getAll, qs } from './api.js';
import { field, h, input, select, table } from './dom.js';
import { dangerButton, heading, notify, onSubmit } from './ui.js';

// Flows and their stage bindings: bind a stage, reorder, unbind; and the stage settings that
// matter most: whether the MFA validation stage makes users without a device set one up, whether
// the identification page asks for the password too, and whether it links to a passkey sign-in.

const isValidateStage = (stage) => stage.meta_model_name.endsWith('.authenticatorvalidatestage');
const isIdentificationStage = (stage) => stage.meta_model_name.endsWith('.identificationstage');
const isPasswordStage = (stage) => stage.meta_model_name.endsWith('.passwordstage');
const isSetupStage = (stage) => /authenticator_(totp|webauthn|static)\./.test(stage.meta_model_name);

async function list() {
  const flows = await getAll('/flows/instances/?ordering=slug');
  return h('div', {},
    heading('Flows & stages'),
    h('p', { class: 'muted' }, 'A flow is an ordered list of stages. To enforce MFA, open default-authentication-flow.'),
    table(['Flow', 'Designation', 'Stages'], flows.map((f) => [h('a', { href: `#/flows/${encodeURIComponent(f.slug)}` }, f.slug), f.designation, f.stages.length])));
}

async function mfaEditor(binding, stages, ctx) {
  const stage = await get(`/stages/authenticator/validate/${binding.stage}/`);
  const setups = stages.filter(isSetupStage);
  const form = h('form', { class: 'mfa-editor', 'aria-label': `MFA settings of ${stage.name}` },
    field('Users without an MFA device', select('not_configured_action', [
      ['skip', 'Let them in with the password alone'],
      ['configure', 'Make them set one up (enforce MFA)'],
      ['deny', 'Refuse the login'],
    ], stage.not_configured_action)),
    h('fieldset', {}, h('legend', {}, 'Devices they may set up'),
      setups.map((s) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'configuration_stages', value: s.pk, 'data-list': '1', checked: stage.configuration_stages.includes(s.pk) }), s.name))),
    h('button', { type: 'submit', class: 'small' }, 'Save MFA settings'));
  onSubmit(form, async (v) => {
    const configuration = v.configuration_stages ?? [];
    if (v.not_configured_action === 'configure' && configuration.length === 0) {
      const totp = setups.find((s) => s.name === 'default-authenticator-totp-setup') ?? setups[0];
      if (totp) configuration.push(totp.pk);
    }
    await api('PATCH', `/stages/authenticator/validate/${stage.pk}/`, { not_configured_action: v.not_configured_action, configuration_stages: configuration });
    await ctx.refresh();
    notify(v.not_configured_action === 'configure' ? 'MFA is now required: users without a device set one up at their next login.' : 'MFA settings saved.');
  });
  return form;
}

async function identificationEditor(binding, stages, ctx) {
  const stage = await get(`/stages/identification/${binding.stage}/`);
  const form = h('form', { class: 'mfa-editor', 'aria-label': `Password settings of ${stage.name}` },
    field('Password on this page', select('password_stage', [
      ['', 'No: the password stage asks for it on its own page'],
      ...stages.filter(isPasswordStage).map((s) => [s.pk, `Yes, checked as ${s.name} checks it`]),
    ], stage.password_stage ?? '')),
    h('p', { class: 'muted' }, 'With the password here, unbind the password stage from this flow, or it asks again.'),
    h('button', { type: 'submit', class: 'small' }, 'Save password setting'));
  onSubmit(form, async (v) => {
    await api('PATCH', `/stages/identification/${stage.pk}/`, { password_stage: v.password_stage || null });
    await ctx.refresh();
    notify(v.password_stage ? 'The login page now asks for the username and the password together.' : 'The password is asked on its own page again.');
  });
  return form;
}

// Authentik's passwordless_flow: the login page links to a flow that signs in with a passkey alone
// (docs/login-and-mfa.md; blueprints/examples/passwordless.yaml makes one).
async function passwordlessEditor(binding, flow, ctx) {
  const stage = await get(`/stages/identification/${binding.stage}/`);
  const others = (await getAll('/flows/instances/?designation=authentication&ordering=slug')).filter((f) => f.slug !== flow.slug);
  const form = h('form', { class: 'mfa-editor', 'aria-label': `Passkey link of ${stage.name}` },
    field('Passkey sign-in link', select('passwordless_flow', [
      ['', 'None'],
      ...others.map((f) => [f.slug, `To ${f.slug}`]),
    ], stage.passwordless_flow ?? '')),
    h('button', { type: 'submit', class: 'small' }, 'Save passkey link'));
  onSubmit(form, async (v) => {
    await api('PATCH', `/stages/identification/${stage.pk}/`, { passwordless_flow: v.passwordless_flow || null });
    await ctx.refresh();
    notify(v.passwordless_flow ? 'The login page now offers "Use a passkey or security key".' : 'The login page no longer links to a passkey sign-in.');
  });
  return form;
}

const editorFor = async (binding, stages, flow, ctx) => {
  if (isValidateStage(binding.stage_obj)) return mfaEditor(binding, stages, ctx);
  if (isIdentificationStage(binding.stage_obj)) return h('div', {}, await identificationEditor(binding, stages, ctx), await passwordlessEditor(binding, flow, ctx));
  return null;
};

async function detail(slug, ctx) {
  const flow = await get(`/flows/instances/${encodeURIComponent(slug)}/`);
  const [bindings, stages] = await Promise.all([getAll(`/flows/bindings/${qs({ target: flow.pk, ordering: 'order' })}`), getAll('/stages/all/?ordering=name')]);
  const move = (i, j) => async () => {
    const a = bindings[i];
    const b = bindings[j];
    const [orderA, orderB] = a.order === b.order ? [b.order + (j > i ? 1 : -1), a.order] : [b.order, a.order];
    await api('PATCH', `/flows/bindings/${a.pk}/`, { order: orderA });
    await api('PATCH', `/flows/bindings/${b.pk}/`, { order: orderB });
    await ctx.refresh();
    notify(`Moved ${a.stage_obj.name}.`);
    // Keep the keyboard where it was: on the moved stage's arrow (the other one at either end).
    const row = document.querySelector(`[data-binding="${a.pk}"]`);
    const same = row?.querySelector(`button[data-move="${j > i ? 'down' : 'up'}"]`);
    (same && !same.disabled ? same : row?.querySelector(`button[data-move="${j > i ? 'up' : 'down'}"]`))?.focus();
  };
  const rows = await Promise.all(bindings.map(async (b, i) => [
    String(b.order),
    h('div', {}, h('strong', {}, b.stage_obj.name), h('div', { class: 'muted' }, b.stage_obj.verbose_name), await editorFor(b, stages, flow, ctx)),
    h('div', { class: 'row-actions', 'data-binding': b.pk },
      h('button', { type: 'button', class: 'secondary small', 'data-move': 'up', disabled: i === 0, 'aria-label': `Move ${b.stage_obj.name} up`, onclick: move(i, i - 1) }, '↑'),
      h('button', { type: 'button', class: 'secondary small', 'data-move': 'down', disabled: i === bindings.length - 1, 'aria-label': `Move ${b.stage_obj.name} down`, onclick: move(i, i + 1) }, '↓'),
      dangerButton('Unbind', `Remove ${b.stage_obj.name} from this flow? The stage itself stays.`, async () => {
        await api('DELETE', `/flows/bindings/${b.pk}/`);
        await ctx.refresh();
        notify('Stage unbound.');
      })),
  ]));
  const last = bindings.length ? bindings[bindings.length - 1].order : 0;
  const bind = h('form', { class: 'inline-form' },
    field('Stage', select('stage', stages.map((s) => [s.pk, `${s.name} (${s.verbose_name})`]))),
    field('Order (lower runs first)', input('order', { type: 'number', value: last + 10, required: true })),
    h('button', { type: 'submit', class: 'small' }, 'Bind stage'));
  onSubmit(bind, async (v) => {
    await api('POST', '/flows/bindings/', { target: flow.pk, stage: v.stage, order: Number(v.order) });
    await ctx.refresh();
    notify('Stage bound.');
  });
  return h('div', {},
    heading(flow.name),
    h('p', { class: 'muted' }, `${flow.slug} · ${flow.designation} · `, h('a', { href: `/if/flow/${encodeURIComponent(flow.slug)}/` }, 'open the flow')),
    h('h2', {}, 'Stages, in order'),
    table(['Order', 'Stage', ''], rows),
    h('h2', {}, 'Bind a stage'),
    bind);
}

export async function render(rest, ctx) {
  return rest[0] ? detail(rest[0], ctx) : list();
}
