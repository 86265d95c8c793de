// Forgot password: asks for the address and says the same whatever it is (whether an account
// uses it is never told); the e-mailed link opens #/reset-password/<token>.
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, EMAIL_RE } from '../dom.js';

export async function render() {
  const form = h('form', { class: 'form', 'data-testid': 'forgot-password-form', novalidate: true },
    formMessage(),
    field({ form: 'forgot', name: 'email', label: t('forgotPassword.email'), type: 'email', attrs: { autocomplete: 'username', inputmode: 'email', spellcheck: 'false' } }),
    h('div', { class: 'actions' }, submitButton(t('forgotPassword.submit'))));

  onSubmit(form, async () => {
    const email = value(form, 'email').trim();
    const problems = {};
    if (!email) problems.email = t('validation.required');
    else if (!EMAIL_RE.test(email)) problems.email = t('validation.email');
    if (showProblems(form, problems)) return;
    try {
      await api.post('/api/v1/auth/password-reset', { email }, { redirectOn401: false });
    } catch (err) {
      showApiError(form, err);
      return;
    }
    setMessage(form, 'success', t('forgotPassword.sent', { email }));
  });

  return h('section', { class: 'page card narrow', 'data-testid': 'page-forgot-password' },
    h('h1', {}, t('forgotPassword.title')),
    h('p', { class: 'intro' }, t('forgotPassword.intro')),
    form,
    h('p', { class: 'switch' }, h('a', { href: '#/login', 'data-testid': 'to-login' }, t('forgotPassword.toLogin'))));
}
