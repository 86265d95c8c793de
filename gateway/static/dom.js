// Small DOM helpers shared by the pages: element creation (text only, never
// innerHTML), labelled form fields, and showing form and field errors.
import { t, has } from './i18n.js';

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === 'value' || key === 'checked') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const idFor = (formKey, name) => `${formKey}-${name.replace(/[^a-zA-Z0-9_-]/g, '-')}`;

/** A labelled input or select with an optional hint and an error slot. */
export function field({ form, name, label, type = 'text', value = '', hint, options, required, attrs = {} }) {
  const id = idFor(form, name);
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (options) {
    control = h('select', { id, name, 'data-field': name, required, ...attrs },
      options.map((opt) => h('option', { value: opt.value, lang: opt.lang, selected: opt.value === value }, opt.label)));
    control.value = value;
  } else {
    control = h('input', { id, name, type, value: value ?? '', 'data-field': name, required, ...attrs });
  }
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    control,
    h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name }));
}

/** A group of radio buttons in a fieldset; every radio has its own label. */
export function radioGroup({ form, name, legend, options, value }) {
  const id = idFor(form, name);
  return h('fieldset', { class: 'field radio-group', id, 'data-field': name },
    h('legend', {}, legend),
    options.map((opt) => {
      const optionId = `${id}-${opt.value}`;
      return h('div', { class: 'radio' },
        h('input', { type: 'radio', id: optionId, name, value: opt.value, checked: opt.value === value }),
        h('label', { for: optionId }, opt.label));
    }),
    h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name }));
}

export function formMessage() {
  return h('div', { class: 'form-message', 'data-testid': 'form-message', role: 'status', 'aria-live': 'polite' });
}

export function submitButton(label) {
  return h('button', { type: 'submit', class: 'button primary' }, label);
}

export function value(form, name) {
  const item = form.elements.namedItem(name);
  return item ? String(item.value ?? '') : '';
}

/** Human text for an ApiError (or anything thrown), in the UI language. */
export function errorText(err) {
  if (!err || !err.code) return t('errors.UNKNOWN');
  if (err.status === 429 || err.code === 'RATE_LIMITED') {
    return err.retryAfter != null ? t('errors.RATE_LIMITED', { seconds: err.retryAfter }) : t('errors.RATE_LIMITED_LATER');
  }
  const noFieldDetail = err.code === 'VALIDATION_FAILED' && !Object.keys(err.fields || {}).length;
  // every code the server answers has a text in each language (tests/unit/test_server_texts.py);
  // the server's own sentence (English) is the last resort, never the first
  if (has(`errors.${err.code}`) && !(noFieldDetail && err.serverMessage)) return t(`errors.${err.code}`, err.params || {});
  if (err.status === 503) return t('errors.UNAVAILABLE');
  if (err.serverMessage) return err.serverMessage;
  return t('errors.UNKNOWN');
}

export function setMessage(form, kind, text, details = []) {
  const box = form.querySelector('[data-testid="form-message"]');
  if (!box) return;
  box.replaceChildren();
  box.dataset.kind = kind || '';
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  if (text) box.append(h('p', {}, text));
  if (details.length) box.append(h('ul', {}, details.map((line) => h('li', {}, line))));
}

export function clearErrors(form) {
  setMessage(form, '', '');
  form.querySelectorAll('[data-error-for]').forEach((slot) => {
    slot.textContent = '';
    const control = form.querySelector(`[data-field="${CSS.escape(slot.dataset.errorFor)}"]`);
    if (control) {
      control.removeAttribute('aria-invalid');
      const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== slot.id);
      if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
      else control.removeAttribute('aria-describedby');
    }
  });
}

/** Show problems next to a field; returns false when the form has no such field. */
export function setFieldError(form, name, problems) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  const control = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!slot || !control) return false;
  slot.textContent = [].concat(problems).join(' ');
  control.setAttribute('aria-invalid', 'true');
  const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  if (!ids.includes(slot.id)) ids.push(slot.id);
  control.setAttribute('aria-describedby', ids.join(' '));
  return true;
}

function focusFirstInvalid(form) {
  const first = form.querySelector('[aria-invalid="true"]');
  if (!first) return;
  const target = first.tagName === 'FIELDSET' ? first.querySelector('input') : first;
  if (target) target.focus();
}

/** Client-side problems: {fieldName: message}. Returns true when there were any. */
export function showProblems(form, problems) {
  clearErrors(form);
  const names = Object.keys(problems);
  if (!names.length) return false;
  names.forEach((name) => setFieldError(form, name, problems[name]));
  setMessage(form, 'error', t('validation.fixFields'));
  focusFirstInvalid(form);
  return true;
}

/** Server error: field problems next to their inputs, the message at the top. */
// fieldFor maps an error code to the field it concerns when the server sent no
// field details, e.g. {EMAIL_TAKEN: 'email'}.
export function showApiError(form, err, { fieldFor = {} } = {}) {
  clearErrors(form);
  if (err && err.handled) return; // already on the way to the login page
  const leftovers = [];
  for (const [name, problems] of Object.entries((err && err.fields) || {})) {
    if (!setFieldError(form, name, problems)) leftovers.push(`${name}: ${problems.join(' ')}`);
  }
  const hasFields = err && Object.keys(err.fields || {}).length > 0;
  const fallbackField = err && fieldFor[err.code];
  if (!hasFields && fallbackField) setFieldError(form, fallbackField, errorText(err));
  setMessage(form, 'error', errorText(err), leftovers);
  focusFirstInvalid(form);
}

/** Run an async submit handler once at a time, with aria-busy while it runs. */
export function onSubmit(form, handler) {
  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await handler(event);
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  });
}

export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function passwordProblem(password) {
  if (!password) return t('validation.required');
  if (password.length < 8 || password.length > 128) return t('validation.passwordLength');
  return null;
}

/**
 * A server error on a form: field problems next to their inputs, found by the full name
 * ("amount.amount"), its first part or its last part; `text` (the message, by default the
 * error's) and what fits nowhere on top.
 */
export function showNestedError(form, err, text = errorText(err)) {
  clearErrors(form);
  if (!err || err.handled) return;
  const leftovers = [];
  for (const [name, problems] of Object.entries(err.fields || {})) {
    const parts = name.split('.');
    const shown = setFieldError(form, name, problems) || setFieldError(form, parts[0], problems)
      || setFieldError(form, parts[parts.length - 1], problems);
    if (!shown) leftovers.push(problems.join(' '));
  }
  setMessage(form, 'error', text, leftovers);
  const invalid = form.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
}

/** An always-present live region, so what is put in it later is announced. */
export function resultRegion(testid) {
  return h('div', { class: 'result', 'data-testid': testid, role: 'status', 'aria-live': 'polite', tabindex: '-1' });
}

/**
 * A modal <dialog> answered once: `finish(value)` closes and removes it and settles `answer`
 * with `value` (closing it with Escape is `finish(false)`), then runs `after(value)`. The caller
 * fills `dialog`, appends it to the page and calls `dialog.showModal()`.
 */
export function modalDialog({ labelledBy, describedBy, testid, after }) {
  let settled = false;
  let resolve;
  const answer = new Promise((done) => { resolve = done; });
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': labelledBy, 'aria-describedby': describedBy, 'data-testid': testid });
  const finish = (value) => {
    if (settled) return;
    settled = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    resolve(value);
    if (after) after(value);
  };
  dialog.addEventListener('close', () => finish(false)); // Escape
  return { dialog, finish, answer };
}

/**
 * A section's outcome, in two places: `status` (a polite live region: what was done) and
 * `problem` (an alert: what went wrong), with test ids `<name>-status` and `<name>-error`.
 * `say(text)` shows what was done (null: just clears the problem) and moves focus there unless
 * `focus` is false; `fail(err)` shows the error's text (`describe`), except for one its caller
 * already showed (`err.handled`, e.g. a cancelled re-authentication).
 */
export function sectionFeedback(name, { focus = true, describe = errorText } = {}) {
  const status = resultRegion(`${name}-status`);
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': `${name}-error` });
  const say = (text) => {
    problem.replaceChildren();
    if (text === null) return;
    status.replaceChildren(h('p', { class: 'notice success' }, text));
    if (focus) status.focus();
  };
  const fail = (err) => {
    if (err && err.handled) return;
    status.replaceChildren();
    problem.replaceChildren(h('p', {}, describe(err)));
  };
  return { status, problem, say, fail };
}

/**
 * A paged table. `draw(page, {append, highlight})` puts the page's rows (`row(item,
 * highlighted)`) in `body` (after the ones there with `append`), shows `table`, or `empty()`
 * when there are none, in `wrap`, and `more` in `moreSlot` while there is a next page
 * (`cursor()`); it returns the new rows.
 */
export function pagedRows({ body, table, empty, wrap, more, moreSlot, row }) {
  let cursor = null;
  const draw = (page, { append, highlight } = {}) => {
    const items = Array.isArray(page && page.data) ? page.data : [];
    const rows = items.map((item) => row(item, highlight && item.id === highlight));
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    wrap.replaceChildren(body.children.length ? table : empty());
    cursor = page && page.has_more && page.next_cursor ? page.next_cursor : null;
    moreSlot.replaceChildren(...(cursor ? [more] : []));
    return rows;
  };
  return { draw, cursor: () => cursor };
}

/**
 * "Load more": on a click, `load(cursor)` fetches and draws the next page and returns its rows;
 * when the button has gone, the keyboard goes on at the first new row. Errors go in `problem`.
 */
export function onLoadMore(more, problem, cursor, load) {
  more.addEventListener('click', async () => {
    if (more.disabled || !cursor()) return;
    more.disabled = true;
    problem.replaceChildren();
    try {
      const rows = await load(cursor());
      if (!cursor() && rows.length) {
        const cell = rows[0].querySelector('th');
        cell.setAttribute('tabindex', '-1');
        cell.focus();
      }
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      more.disabled = false;
    }
  });
}

/**
 * Reloading a list after a change: `load()` fetches the first page and `draw(page, highlight)`
 * shows it, only for the latest reload (they may answer out of order). A failure goes in
 * `problem` under `failedText`.
 */
export function latestReload(problem, failedText, load, draw) {
  let reloads = 0;
  return async (highlight) => {
    const reload = ++reloads;
    problem.replaceChildren();
    try {
      const page = await load();
      if (reload === reloads) draw(page, highlight);
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, failedText), h('p', {}, errorText(err)));
    }
  };
}
