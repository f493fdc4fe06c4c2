import { z } from 'zod';
import { fieldError, type ResponseErrors } from '../challenge.ts';
import { evaluatePolicyIds } from '../policies.ts';
import type { InteractiveStage } from '../stage.ts';

const field = z.strictObject({
  field_key: z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/),
  label: z.string().max(200),
  type: z.enum(['text', 'email', 'password', 'username', 'hidden', 'checkbox']).default('text'),
  required: z.boolean().default(true),
  placeholder: z.string().max(200).default(''),
  initial_value: z.string().max(500).default(''),
  order: z.number().int().default(0),
});
const config = z.strictObject({
  fields: z.array(field).min(1).max(50),
  // Policies (by id) that must all pass on the answers, e.g. password strength.
  validation_policies: z.array(z.uuid()).default([]),
});
type Config = z.infer<typeof config>;

const EMAIL = z.email().max(254);

/** prompt: asks for free fields (enrollment, initial setup); answers land in the flow's promptData. */
export const promptStage: InteractiveStage<Config> = {
  type: 'prompt',
  component: 'ak-stage-prompt',
  configSchema: config,
  async challenge(ctx) {
    return {
      fields: [...ctx.config.fields]
        .sort((a, b) => a.order - b.order)
        .map((f) => ({ ...f, initial_value: f.type === 'password' ? '' : String(ctx.state.promptData[f.field_key] ?? f.initial_value) })),
    };
  },
  async submit(ctx, body) {
    const errors: ResponseErrors = {};
    const values: Record<string, unknown> = {};
    for (const f of ctx.config.fields) {
      const raw = body[f.field_key];
      const value = f.type === 'checkbox' ? raw === true || raw === 'on' || raw === 'true' : typeof raw === 'string' ? raw.trim() : '';
      if (f.required && (value === '' || value === false)) {
        Object.assign(errors, fieldError(f.field_key, 'This field is required.', 'required'));
      } else if (typeof value === 'string' && value.length > 1024) {
        Object.assign(errors, fieldError(f.field_key, 'Too long.', 'max_length'));
      } else if (f.type === 'email' && value !== '' && !EMAIL.safeParse(value).success) {
        Object.assign(errors, fieldError(f.field_key, 'Enter a valid email address.'));
      }
      values[f.field_key] = f.type === 'password' && typeof raw === 'string' ? raw : value;
    }
    // Authentik's convention: a field "<x>_repeat" must equal "<x>".
    for (const f of ctx.config.fields) {
      const original = f.field_key.replace(/_repeat$/, '');
      if (original !== f.field_key && values[original] !== values[f.field_key]) {
        Object.assign(errors, fieldError(f.field_key, 'The two values do not match.', 'mismatch'));
      }
    }
    if (Object.keys(errors).length) return { kind: 'invalid', errors };
    ctx.state.promptData = { ...ctx.state.promptData, ...values };
    const verdict = await evaluatePolicyIds(ctx.deps, ctx.config.validation_policies, {
      user: await ctx.pendingUser(),
      clientIp: ctx.request.clientIp,
      state: ctx.state,
    });
    if (!verdict.isPassing) return { kind: 'invalid', errors: fieldError('non_field_errors', verdict.messages.join(' ')) };
    return { kind: 'next' };
  },
};
