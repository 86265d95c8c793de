import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, clearErrors, EMAIL_RE } from '../dom.js';
import { needsSecondStep, replaceWithSecondStep } from '../second-step.js';
import { passkeysSupported, getPasskey, passkeyErrorText } from '../webauthn.js';

export async function render(ctx) {
  const form = h('form', { class: 'form', 'data-testid': 'login-form', novalidate: true },
    formMessage(),
    field({ form: 'login', name: 'email', label: t('login.email'), type: 'email', attrs: { autocomplete: 'username webauthn', inputmode: 'email', spellcheck: 'false' } }),
    field({ form: 'login', name: 'password', label: t('login.password'), type: 'password', attrs: { autocomplete: 'current-password' } }),
    h('div', { class: 'actions' }, submitButton(t('login.submit'))));

  let section;
  onSubmit(form, async () => {
    const email = value(form, 'email').trim();
    const password = value(form, 'password');
    const problems = {};
    if (!email) problems.email = t('validation.required');
    else if (!EMAIL_RE.test(email)) problems.email = t('validation.email');
    if (!password) problems.password = t('validation.required');
    if (showProblems(form, problems)) return;
    try {
      const result = await api.post('/api/v1/auth/login', { email, password }, { redirectOn401: false });
      if (needsSecondStep(result)) replaceWithSecondStep(ctx, section, result);
      else await ctx.loggedIn(result);
    } catch (err) {
      showApiError(form, err);
    }
  });

  // A passkey signs in on its own: no e-mail, no password, no second step.
  let passkey = null;
  if (passkeysSupported()) {
    passkey = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'login-passkey' }, t('login.withPasskey'));
    passkey.addEventListener('click', async () => {
      if (passkey.disabled) return;
      passkey.disabled = true;
      clearErrors(form);
      try {
        const { ceremony, options } = await api.post('/api/v1/auth/passkey/options', {}, { redirectOn401: false });
        const credential = await getPasskey(options);
        const result = await api.post('/api/v1/auth/passkey', { ceremony, credential }, { redirectOn401: false });
        await ctx.loggedIn(result);
      } catch (err) {
        setMessage(form, 'error', passkeyErrorText(err));
      } finally {
        passkey.disabled = false;
      }
    });
  }

  const flash = ctx.takeFlash('login');
  if (flash) setMessage(form, flash.kind, flash.text);

  section = h('section', { class: 'page card narrow', 'data-testid': 'page-login' },
    h('h1', {}, t('login.title')),
    h('p', { class: 'intro' }, t('login.intro')),
    form,
    h('p', { class: 'switch' }, h('a', { href: '#/forgot-password', 'data-testid': 'to-forgot-password' }, t('login.forgotPassword'))),
    passkey ? h('div', { class: 'login-alternative' }, h('p', { class: 'hint' }, t('login.passkeyHint')), h('div', { class: 'actions' }, passkey)) : null,
    h('p', { class: 'switch' }, `${t('login.noAccount')} `, h('a', { href: '#/signup', 'data-testid': 'to-signup' }, t('login.toSignup'))));
  return section;
}
