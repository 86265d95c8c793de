// The second step of a sign-in (two-step sign-in): the login and the portal link answer 202
// {mfa_required, mfa_token, methods} instead of a session; this asks for a code from the
// authenticator app, a recovery code, or a passkey, and then signs in. The mfa_token stays in
// memory (never in the address or in storage).
import * as api from './api.js';
import { t } from './i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage } from './dom.js';
import { passkeysSupported, getPasskey, passkeyErrorText } from './webauthn.js';

/** Whether an answer of the login (or the portal link) asks for the second step. */
export function needsSecondStep(result) {
  return Boolean(result && result.mfa_required && result.mfa_token);
}

/** The second step's section (replaces the login page's); `ctx.loggedIn` once it worked. */
export function secondStep(ctx, challenge) {
  const methods = Array.isArray(challenge.methods) ? challenge.methods : ['totp', 'recovery_code'];
  const heading = h('h1', { tabindex: '-1' }, t('secondStep.title'));
  const intro = h('p', { class: 'intro' });
  const slot = h('div', {});
  const others = h('div', { class: 'actions second-step-others' });
  const section = h('section', { class: 'page card narrow', 'data-testid': 'page-second-step' }, heading, intro, slot, others);

  const expired = (form, err) => {
    if (!(err && err.code === 'MFA_CHALLENGE_INVALID')) return false;
    setMessage(form, 'error', t('errors.MFA_CHALLENGE_INVALID'));
    others.replaceChildren(h('button', {
      type: 'button', class: 'button primary', 'data-testid': 'second-step-restart',
      on: { click: () => ctx.navigate('#/login') },
    }, t('secondStep.restart')));
    return true;
  };

  const codeForm = (kind) => {
    const recovery = kind === 'recovery_code';
    const name = recovery ? 'recovery_code' : 'code';
    const form = h('form', { class: 'form', 'data-testid': `second-step-${recovery ? 'recovery' : 'code'}-form`, novalidate: true },
      formMessage(),
      field({
        form: 'second-step',
        name,
        label: recovery ? t('secondStep.recoveryCode') : t('secondStep.code'),
        hint: recovery ? t('secondStep.recoveryHint') : null,
        attrs: recovery
          ? { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'data-sensitive': '' }
          : { autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '10', 'data-sensitive': '' },
      }),
      h('div', { class: 'actions' }, submitButton(t('secondStep.submit'))));
    onSubmit(form, async () => {
      const entered = value(form, name).replace(/\s+/g, '');
      if (showProblems(form, entered ? {} : { [name]: t('validation.required') })) return;
      let result;
      try {
        result = await api.post('/api/v1/auth/login/second-step', { mfa_token: challenge.mfa_token, [name]: entered }, { redirectOn401: false });
      } catch (err) {
        if (expired(form, err)) return;
        // the server names the field `code` for either kind
        const fields = err.fields && err.fields.code && recovery ? { recovery_code: err.fields.code } : err.fields;
        showApiError(form, Object.assign(Object.create(Object.getPrototypeOf(err)), err, { fields }),
          { fieldFor: { MFA_CODE_INVALID: name } });
        return;
      }
      await ctx.loggedIn(result);
    });
    return form;
  };

  const passkeyButton = (form) => h('button', {
    type: 'button', class: 'button secondary', 'data-testid': 'second-step-passkey',
    on: {
      async click(event) {
        const button = event.currentTarget;
        if (button.disabled) return;
        button.disabled = true;
        let result;
        try {
          const { ceremony, options } = await api.post('/api/v1/auth/passkey/options', { mfa_token: challenge.mfa_token }, { redirectOn401: false });
          const credential = await getPasskey(options);
          result = await api.post('/api/v1/auth/passkey', { ceremony, credential, mfa_token: challenge.mfa_token }, { redirectOn401: false });
        } catch (err) {
          button.disabled = false;
          if (!expired(form, err)) setMessage(form, 'error', passkeyErrorText(err));
          return;
        }
        await ctx.loggedIn(result);
      },
    },
  }, t('secondStep.usePasskey'));

  const show = (kind) => {
    // a passkey only (no app): its button is the way on
    const form = kind === 'passkey' ? h('div', { class: 'form' }, formMessage()) : codeForm(kind);
    intro.textContent = { passkey: t('secondStep.passkeyIntro'), recovery_code: t('secondStep.recoveryIntro') }[kind] || t('secondStep.intro');
    slot.replaceChildren(form);
    const switches = [];
    if (kind === 'totp' && methods.includes('recovery_code')) {
      switches.push(h('button', { type: 'button', class: 'link-button', 'data-testid': 'second-step-use-recovery', on: { click: () => show('recovery_code') } }, t('secondStep.useRecovery')));
    }
    if (kind === 'recovery_code' && methods.includes('totp')) {
      switches.push(h('button', { type: 'button', class: 'link-button', 'data-testid': 'second-step-use-code', on: { click: () => show('totp') } }, t('secondStep.useCode')));
    }
    if (methods.includes('passkey') && passkeysSupported()) switches.push(passkeyButton(form));
    switches.push(h('a', { href: '#/login', 'data-testid': 'second-step-cancel', on: { click(event) { event.preventDefault(); ctx.navigate('#/login'); } } }, t('secondStep.cancel')));
    others.replaceChildren(...switches);
    const input = form.querySelector('input');
    if (input && section.isConnected) input.focus();
  };
  show(['totp', 'recovery_code', 'passkey'].find((kind) => methods.includes(kind)) || 'totp');
  return section;
}

/** Puts the second step in place of a page that is showing (the login form's section). */
export function replaceWithSecondStep(ctx, current, challenge) {
  const next = secondStep(ctx, challenge);
  current.replaceWith(next);
  document.title = `${next.querySelector('h1').textContent} – ${document.title.split(' – ').pop()}`;
  next.querySelector('h1').focus();
  return next;
}
