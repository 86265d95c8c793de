import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, EMAIL_RE } from '../dom.js';

export async function render(ctx) {
  const form = h('form', { class: 'form', 'data-testid': 'login-form', novalidate: true },
    formMessage(),
    field({ form: 'login', name: 'email', label: t('login.email'), type: 'email', attrs: { autocomplete: 'username', inputmode: 'email', spellcheck: 'false' } }),
    field({ form: 'login', name: 'password', label: t('login.password'), type: 'password', attrs: { autocomplete: 'current-password' } }),
    h('div', { class: 'actions' }, submitButton(t('login.submit'))));

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
      await ctx.loggedIn(result);
    } catch (err) {
      showApiError(form, err);
    }
  });

  const flash = ctx.takeFlash('login');
  if (flash) setMessage(form, flash.kind, flash.text);

  return h('section', { class: 'page card narrow', 'data-testid': 'page-login' },
    h('h1', {}, t('login.title')),
    h('p', { class: 'intro' }, t('login.intro')),
    form,
    h('p', { class: 'switch' }, `${t('login.noAccount')} `, h('a', { href: '#/signup', 'data-testid': 'to-signup' }, t('login.toSignup'))));
}
