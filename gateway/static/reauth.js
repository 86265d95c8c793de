// "Confirm it is you": a sensitive action (the authenticator app, recovery codes, passkeys, a
// new card, a new e-mail address without the password) answered 403 REAUTH_REQUIRED because
// the sign-in is older than the server allows. api.js asks confirmIdentity() and, when it
// resolves true, sends the action once more. A modal dialog: the password, or a code from the
// authenticator app (when it is on), or a passkey (when the account has one); Escape or Cancel
// gives up (false).
import * as api from './api.js';
import { t } from './i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, modalDialog } from './dom.js';
import { passkeysSupported, getPasskey, passkeyErrorText } from './webauthn.js';

const REAUTH = '/api/v1/me/reauthenticate';
let pending = null; // one dialog for every action refused at the same time
// The element last focused outside the dialog: the button that started the action (which is
// usually disabled while the action runs, and so no longer document.activeElement).
let lastFocused = null;
document.addEventListener('focusin', (event) => {
  if (!(event.target instanceof Element) || !event.target.closest('[data-testid="reauth-dialog"]')) lastFocused = event.target;
});

async function methodsAvailable() {
  try {
    const security = await api.get('/api/v1/me/security', { reauth: false });
    return {
      totp: Boolean(security && security.totp && security.totp.enabled),
      passkey: Boolean(security && security.passkeys > 0 && security.passkeys_available) && passkeysSupported(),
    };
  } catch {
    return { totp: false, passkey: false }; // the password always works
  }
}

function confirmForm(name, { label, attrs, submit, send, hint }) {
  const form = h('form', { class: 'form', 'data-testid': `reauth-${name}-form`, novalidate: true },
    formMessage(),
    field({ form: `reauth-${name}`, name, label, hint, type: name === 'password' ? 'password' : 'text', attrs: { ...attrs, 'data-sensitive': '' } }),
    h('div', { class: 'actions' }, submitButton(submit)));
  onSubmit(form, async () => {
    const entered = name === 'password' ? value(form, name) : value(form, name).replace(/\s+/g, '');
    if (showProblems(form, entered ? {} : { [name]: t('validation.required') })) return;
    try {
      await send(entered);
    } catch (err) {
      // a wrong password comes back as the field `current_password`, a wrong code as `code`
      const fields = Object.keys(err.fields || {}).length ? { [name]: Object.values(err.fields).flat() } : {};
      showApiError(form, Object.assign(Object.create(Object.getPrototypeOf(err)), err, { fields }),
        { fieldFor: { INVALID_CREDENTIALS: name, MFA_CODE_INVALID: name } });
    }
  });
  return form;
}

async function openDialog() {
  const methods = await methodsAvailable();
  const opener = lastFocused;
  const { dialog, finish, answer } = modalDialog({
    labelledBy: 'reauth-title', describedBy: 'reauth-intro', testid: 'reauth-dialog',
    // back where the person was, once the action that asked has finished (and re-enabled it)
    after: () => setTimeout(() => {
      if (opener && opener.isConnected && typeof opener.focus === 'function'
        && (!document.activeElement || document.activeElement === document.body)) opener.focus();
    }, 0),
  });
  const confirmWith = async (body) => {
    await api.post(REAUTH, body, { reauth: false });
    finish(true);
  };

  const parts = [
    h('h2', { id: 'reauth-title' }, t('reauth.title')),
    h('p', { id: 'reauth-intro' }, t('reauth.intro')),
    confirmForm('password', {
      label: t('reauth.password'),
      attrs: { autocomplete: 'current-password' },
      submit: t('reauth.confirm'),
      send: (password) => confirmWith({ password }),
    }),
  ];
  if (methods.totp) {
    parts.push(h('p', { class: 'dialog-or' }, t('reauth.or')), confirmForm('code', {
      label: t('reauth.code'),
      attrs: { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '10' },
      submit: t('reauth.confirmCode'),
      send: (code) => confirmWith({ code }),
    }));
  }
  if (methods.passkey) {
    const problem = formMessage();
    const button = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'reauth-passkey' }, t('reauth.passkey'));
    const box = h('div', { class: 'form' }, problem, h('div', { class: 'actions' }, button));
    button.addEventListener('click', async () => {
      if (button.disabled) return;
      button.disabled = true;
      try {
        const { ceremony, options } = await api.post(`${REAUTH}/passkey-options`, {}, { reauth: false });
        const credential = await getPasskey(options);
        await confirmWith({ ceremony, credential });
      } catch (err) {
        if (!(err && err.handled)) setMessage(box, 'error', passkeyErrorText(err));
      } finally {
        button.disabled = false;
      }
    });
    parts.push(h('p', { class: 'dialog-or' }, t('reauth.or')), box);
  }
  parts.push(h('div', { class: 'actions dialog-cancel' },
    h('button', { type: 'button', class: 'button secondary', 'data-testid': 'reauth-cancel', on: { click: () => finish(false) } }, t('reauth.cancel'))));
  dialog.append(...parts);
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector('input').focus();
  return answer;
}

/** Asks the person to confirm it is them; true once the server took it. */
export function confirmIdentity() {
  if (!pending) {
    pending = openDialog().finally(() => {
      pending = null;
    });
  }
  return pending;
}
