import { ApiError } from './api.js';
import { h } from './dom.js';

/** The one-line notice under the navigation (role=status: screen readers hear it). */
export function notify(text, kind = 'success') {
  const status = document.getElementById('status');
  status.className = `notice ${kind}`;
  status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  status.textContent = text;
  status.hidden = false;
}
export function clearNotice() {
  const status = document.getElementById('status');
  status.hidden = true;
  status.textContent = '';
}

/** Shows an API error on the form: each field's message under its input, the rest on top. */
export function showErrors(form, error) {
  for (const old of form.querySelectorAll('.error')) old.remove();
  for (const bad of form.querySelectorAll('[aria-invalid]')) bad.removeAttribute('aria-invalid');
  const fields = error instanceof ApiError ? error.fields : {};
  const general = [];
  for (const [name, message] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.closest('.field')?.append(h('p', { class: 'error' }, message));
    } else general.push(`${name}: ${message}`);
  }
  if (Object.keys(fields).length === 0) general.push(error.message);
  if (general.length) form.prepend(h('p', { class: 'error', role: 'alert' }, general.join(' ')));
  form.querySelector('[aria-invalid]')?.focus();
}

/**
 * A form whose submit runs `action(values)`; errors land on the form, the button is disabled
 * meanwhile. `values` is the form's fields as an object (checkboxes as booleans).
 */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    try {
      await action(formValues(form));
      for (const old of form.querySelectorAll('.error')) old.remove();
    } catch (error) {
      showErrors(form, error);
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === 'checkbox') {
      if (element.dataset.list) {
        values[element.name] = values[element.name] ?? [];
        if (element.checked) values[element.name].push(element.value);
      } else values[element.name] = element.checked;
    } else if (element.type === 'radio') {
      if (element.checked) values[element.name] = element.value;
    } else values[element.name] = element.value;
  }
  return values;
}

/** A button that asks first (the browser's own dialog: keyboard-accessible as it is). */
export function dangerButton(label, question, action) {
  return h('button', { type: 'button', class: 'danger small', onclick: async () => {
    if (!confirm(question)) return;
    try {
      await action();
    } catch (error) {
      notify(error.message, 'error');
    }
  } }, label);
}

export const heading = (text, ...actions) => h('div', { class: 'view-head' }, h('h1', {}, text), actions.length ? h('div', { class: 'actions' }, actions) : null);
export const linkButton = (href, label, cls = '') => h('a', { class: `button ${cls}`.trim(), href }, label);

/** Gatehouse's public address: GATEHOUSE_EXTERNAL_URL when set (the shell carries it), else this page's origin. */
export const publicOrigin = () => document.getElementById('admin')?.dataset.publicUrl || location.origin;
