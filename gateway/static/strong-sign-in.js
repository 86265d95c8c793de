// Settings → Security, above the sessions: two-step sign-in with an authenticator app (turn it
// on with the key or the otpauth link, confirm a code, save the recovery codes shown once; new
// recovery codes; turn it off) and the account's passkeys (add, remove). Every change here is
// sensitive: an old sign-in is asked to confirm it is them first (api.js with reauth.js).
import * as api from './api.js';
import { t } from './i18n.js';
import {
  h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage,
  clearErrors, errorText, sectionFeedback,
} from './dom.js';
import { date, dateTime } from './format.js';
import { passkeysSupported, createPasskey, passkeyErrorText } from './webauthn.js';

const SECURITY = '/api/v1/me/security';
const TOTP = '/api/v1/me/mfa/totp';
const PASSKEYS = '/api/v1/me/passkeys';

/** "JBSW Y3DP EHPK 3PXP": the key in groups of four, for typing. */
export function groupedSecret(secret) {
  return String(secret || '').replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

async function copyText(text, element) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard access: select the text so the person can copy it
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return false;
}

/** The recovery codes, shown once: copy, download as a text file, and "I have saved them". */
function recoveryCodesPanel(codes, onDone) {
  const list = h('ul', { class: 'recovery-codes', 'data-testid': 'recovery-codes', 'aria-labelledby': 'recovery-codes-title' },
    codes.map((code) => h('li', {}, h('code', { 'data-testid': 'recovery-code' }, code))));
  const text = `${t('strongSignIn.codesFileTitle')}\n\n${codes.join('\n')}\n`;
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const copied = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'recovery-codes-copy-status' });
  const copy = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'recovery-codes-copy' }, t('strongSignIn.copyCodes'));
  copy.addEventListener('click', async () => {
    copied.textContent = (await copyText(codes.join('\n'), list)) ? t('strongSignIn.copied') : t('strongSignIn.copySelect');
  });
  const saved = h('input', { type: 'checkbox', id: 'recovery-codes-saved', 'data-testid': 'recovery-codes-saved' });
  const done = h('button', { type: 'button', class: 'button primary', 'data-testid': 'recovery-codes-done' }, t('strongSignIn.codesContinue'));
  const problem = h('p', { class: 'field-error', id: 'recovery-codes-saved-error', 'aria-live': 'polite' });
  done.addEventListener('click', () => {
    if (!saved.checked) {
      problem.textContent = t('strongSignIn.codesConfirmFirst');
      saved.setAttribute('aria-invalid', 'true');
      saved.setAttribute('aria-describedby', problem.id);
      saved.focus();
      return;
    }
    URL.revokeObjectURL(url);
    onDone();
  });
  return h('div', { class: 'recovery-panel notice', 'data-testid': 'recovery-codes-panel' },
    h('h4', { id: 'recovery-codes-title', tabindex: '-1' }, t('strongSignIn.codesTitle')),
    h('p', {}, t('strongSignIn.codesIntro')),
    list,
    h('div', { class: 'actions' },
      copy,
      h('a', { class: 'button secondary small', href: url, download: 'recovery-codes.txt', 'data-testid': 'recovery-codes-download' }, t('strongSignIn.downloadCodes'))),
    copied,
    h('div', { class: 'checkbox' }, saved, h('label', { for: 'recovery-codes-saved' }, t('strongSignIn.codesSaved'))),
    problem,
    h('div', { class: 'actions' }, done));
}

/** Setting the app up: the key and the link, then a code from the app. */
function setupPanel(setup, { onConfirmed, onCancel }) {
  const form = h('form', { class: 'form', 'data-testid': 'totp-confirm-form', novalidate: true },
    formMessage(),
    field({ form: 'totp', name: 'code', label: t('strongSignIn.setupCode'), hint: t('strongSignIn.setupCodeHint', { digits: setup.digits || 6 }), attrs: { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '10', 'data-sensitive': '' } }),
    h('div', { class: 'actions' },
      submitButton(t('strongSignIn.setupSubmit')),
      h('button', { type: 'button', class: 'button secondary', 'data-testid': 'totp-setup-cancel', on: { click: onCancel } }, t('strongSignIn.setupCancel'))));
  onSubmit(form, async () => {
    const code = value(form, 'code').replace(/\s+/g, '');
    if (showProblems(form, code ? {} : { code: t('validation.required') })) return;
    let answer;
    try {
      answer = await api.post(`${TOTP}/confirm`, { code });
    } catch (err) {
      showApiError(form, err, { fieldFor: { MFA_CODE_INVALID: 'code' } });
      return;
    }
    await onConfirmed(answer);
  });
  // the QR code for a phone's camera: a chunk of its own, drawn once it has arrived; the key
  // and the link stay the way without it
  const qrSlot = h('div', { class: 'qr-slot' });
  import('./qr.js').then(({ qrSvg }) => {
    qrSlot.replaceChildren(qrSvg(setup.otpauth_uri, t('strongSignIn.qrAlt')));
  }, () => {});
  return h('div', { class: 'totp-setup', 'data-testid': 'totp-setup' },
    h('h4', { id: 'totp-setup-title', tabindex: '-1' }, t('strongSignIn.setupTitle')),
    h('ol', { class: 'steps' },
      h('li', {}, t('strongSignIn.setupStep1')),
      h('li', {},
        t('strongSignIn.setupStep2'), ' ',
        qrSlot,
        h('a', { href: setup.otpauth_uri, 'data-testid': 'totp-uri' }, t('strongSignIn.openInApp')),
        h('p', { class: 'totp-key' },
          h('span', { class: 'readonly-label' }, `${t('strongSignIn.key')}: `),
          h('code', { class: 'serial', 'data-testid': 'totp-secret' }, groupedSecret(setup.secret)))),
      h('li', {}, t('strongSignIn.setupStep3'))),
    form);
}

function twoStep(ctx, state, { say, fail, reload }) {
  const totp = state.totp || {};
  const box = h('div', { class: 'two-step', 'data-testid': 'two-step', 'data-enabled': String(Boolean(totp.enabled)) });
  const showCodes = (codes, afterwards) => {
    const panel = recoveryCodesPanel(codes, afterwards);
    box.replaceChildren(panel);
    panel.querySelector('h4').focus();
  };

  const busy = async (button, action) => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  };

  if (!totp.enabled) {
    const start = h('button', { type: 'button', class: 'button primary', 'data-testid': 'totp-enable' }, t('strongSignIn.enable'));
    start.addEventListener('click', () => busy(start, async () => {
      const setup = await api.post(TOTP, {});
      const panel = setupPanel(setup, {
        onCancel: () => reload(),
        onConfirmed: async (answer) => {
          const lifted = await ctx.enrolled();
          showCodes(answer.recovery_codes || [], () => (lifted ? ctx.fullRights() : reload(t('strongSignIn.enabled'))));
        },
      });
      box.replaceChildren(panel);
      panel.querySelector('h4').focus();
    }));
    box.append(
      h('p', { 'data-testid': 'two-step-state' }, t('strongSignIn.off')),
      h('p', { class: 'hint' }, t('strongSignIn.offHint')),
      h('div', { class: 'actions' }, start));
    return box;
  }

  const renew = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'recovery-codes-new' }, t('strongSignIn.newCodes'));
  renew.addEventListener('click', () => busy(renew, async () => {
    const answer = await api.post('/api/v1/me/mfa/recovery-codes', {});
    showCodes(answer.recovery_codes || [], () => reload(t('strongSignIn.newCodesDone')));
  }));
  const off = h('button', { type: 'button', class: 'button danger', 'data-testid': 'totp-disable' }, t('strongSignIn.disable'));
  off.addEventListener('click', () => busy(off, async () => {
    await api.del(TOTP);
    await reload(t('strongSignIn.disabled'));
  }));
  box.append(
    h('p', { 'data-testid': 'two-step-state' }, totp.enabled_at
      ? t('strongSignIn.onSince', { date: date(totp.enabled_at) })
      : t('strongSignIn.on')),
    h('p', {}, h('span', { class: 'readonly-label' }, `${t('strongSignIn.codesLeft')}: `),
      h('span', { 'data-testid': 'recovery-codes-left' }, String(state.recovery_codes_left ?? 0))),
    state.staff_mfa_required ? h('p', { class: 'hint' }, t('strongSignIn.staffMustKeep')) : null,
    h('div', { class: 'actions' }, renew, off));
  return box;
}

function passkeyItem(passkey, onRemove) {
  const name = passkey.name || t('passkeys.unnamed');
  const remove = h('button', {
    type: 'button',
    class: 'button secondary small',
    'data-testid': 'passkey-remove',
    'aria-label': t('passkeys.removeLabel', { name }),
  }, t('passkeys.remove'));
  remove.addEventListener('click', () => onRemove(passkey, name, remove));
  return h('li', { class: 'passkey', 'data-testid': 'passkey', 'data-passkey-id': passkey.id },
    h('h4', { class: 'passkey-name', 'data-testid': 'passkey-name' }, name),
    h('dl', { class: 'session-facts' },
      h('div', { class: 'session-fact' }, h('dt', {}, t('passkeys.added')), h('dd', {}, h('time', { datetime: passkey.created_at }, dateTime(passkey.created_at)))),
      h('div', { class: 'session-fact' }, h('dt', {}, t('passkeys.lastUsed')),
        h('dd', {}, passkey.last_used_at ? h('time', { datetime: passkey.last_used_at }, dateTime(passkey.last_used_at)) : t('passkeys.never')))),
    h('div', { class: 'actions' }, remove));
}

async function passkeysPart(ctx, state, { say, fail, reload }) {
  const box = h('div', { class: 'passkeys', 'data-testid': 'passkeys' });
  if (!state.passkeys_available) {
    box.append(h('p', { class: 'muted', 'data-testid': 'passkeys-unavailable' }, t('passkeys.unavailable')));
    return box;
  }
  let items = [];
  try {
    const answer = await api.get(PASSKEYS);
    items = Array.isArray(answer && answer.data) ? answer.data : [];
  } catch (err) {
    if (err && err.handled) throw err;
    box.append(h('p', { class: 'muted' }, errorText(err)));
  }
  const onRemove = async (passkey, name, button) => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await api.del(`${PASSKEYS}/${encodeURIComponent(passkey.id)}`);
    } catch (err) {
      button.disabled = false;
      fail(err);
      return;
    }
    await reload(t('passkeys.removed', { name }));
  };
  box.append(items.length
    ? h('ul', { class: 'session-list', 'aria-labelledby': 'passkeys-title', 'data-testid': 'passkey-list' }, items.map((p) => passkeyItem(p, onRemove)))
    : h('p', { class: 'muted', 'data-testid': 'passkeys-none' }, t('passkeys.none')));

  if (!passkeysSupported()) {
    box.append(h('p', { class: 'hint', 'data-testid': 'passkeys-unsupported' }, t('passkeys.unsupported')));
    return box;
  }
  const form = h('form', { class: 'form', 'data-testid': 'passkey-add-form', novalidate: true },
    formMessage(),
    field({ form: 'passkey', name: 'name', label: t('passkeys.name'), hint: t('passkeys.nameHint'), attrs: { maxlength: '100', autocomplete: 'off' } }),
    h('div', { class: 'actions' }, submitButton(t('passkeys.add'))));
  onSubmit(form, async () => {
    clearErrors(form);
    const name = value(form, 'name').trim() || t('passkeys.defaultName');
    try {
      const { ceremony, options } = await api.post(`${PASSKEYS}/options`, {});
      const credential = await createPasskey(options);
      await api.post(PASSKEYS, { ceremony, credential, name });
    } catch (err) {
      if (err && err.handled) return;
      if (err && err.code === 'PASSKEY_CANCELLED') setMessage(form, 'error', passkeyErrorText(err));
      else showApiError(form, err);
      return;
    }
    if (await ctx.enrolled()) ctx.fullRights();
    else await reload(t('passkeys.addedDone', { name }));
  });
  box.append(form);
  return box;
}

/**
 * The strong sign-in part of Settings → Security. Once a second factor is set up it calls
 * `ctx.enrolled()`, true when that lifted a session's limit to setting one up (staff whose
 * operator requires it); then `ctx.fullRights()` once the recovery codes are saved.
 */
export async function strongSignInSection(ctx) {
  const { status, problem, say, fail } = sectionFeedback('strong-sign-in',
    { describe: passkeyErrorText });
  const twoStepSlot = h('div', {});
  const passkeysSlot = h('div', {});
  const helpers = { say, fail };
  const draw = async (text) => {
    problem.replaceChildren();
    const state = await api.get(SECURITY);
    twoStepSlot.replaceChildren(twoStep(ctx, state, helpers));
    passkeysSlot.replaceChildren(await passkeysPart(ctx, state, helpers));
    if (text) say(text);
  };
  helpers.reload = async (text) => {
    try {
      await draw(text);
    } catch (err) {
      fail(err);
    }
  };

  try {
    await draw();
  } catch (err) {
    if (err && err.handled) throw err;
    return h('div', { class: 'notice muted', 'data-testid': 'strong-sign-in-unavailable' },
      h('p', {}, t('strongSignIn.unavailable')), h('p', {}, errorText(err)));
  }
  // a render that another has replaced leaves the message to that one
  const flash = ctx.isCurrent && !ctx.isCurrent() ? null : ctx.takeFlash('security');
  return h('div', { class: 'strong-sign-in', 'data-testid': 'strong-sign-in' },
    flash ? h('p', { class: `notice ${flash.kind}`, role: 'alert', 'data-testid': 'strong-sign-in-flash' }, flash.text) : null,
    status,
    problem,
    h('h3', { id: 'two-step-title' }, t('strongSignIn.title')),
    h('p', { class: 'intro' }, t('strongSignIn.intro')),
    twoStepSlot,
    h('h3', { id: 'passkeys-title' }, t('passkeys.title')),
    h('p', { class: 'intro' }, t('passkeys.intro')),
    passkeysSlot);
}
