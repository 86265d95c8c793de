// The link of a password reset e-mail (#/reset-password/<token>): a new password, twice; then
// the person signs in with it (the reset ended every session).
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, passwordProblem } from '../dom.js';

export async function render(ctx) {
  const [token] = ctx.params;
  const form = h('form', { class: 'form', 'data-testid': 'reset-password-form', novalidate: true },
    formMessage(),
    field({ form: 'reset', name: 'new_password', label: t('resetPassword.newPassword'), type: 'password', hint: t('password.rules'), attrs: { autocomplete: 'new-password', maxlength: '128' } }),
    field({ form: 'reset', name: 'confirm_password', label: t('resetPassword.confirmPassword'), type: 'password', attrs: { autocomplete: 'new-password', maxlength: '128' } }),
    h('div', { class: 'actions' }, submitButton(t('resetPassword.submit'))));
  const section = h('section', { class: 'page card narrow', 'data-testid': 'page-reset-password' },
    h('h1', {}, t('resetPassword.title')),
    h('p', { class: 'intro' }, t('resetPassword.intro')),
    form);

  onSubmit(form, async () => {
    const password = value(form, 'new_password');
    const confirm = value(form, 'confirm_password');
    const problems = {};
    const pw = passwordProblem(password);
    if (pw) problems.new_password = pw;
    if (!confirm) problems.confirm_password = t('validation.required');
    else if (!pw && confirm !== password) problems.confirm_password = t('validation.passwordMismatch');
    if (showProblems(form, problems)) return;
    try {
      await api.post('/api/v1/auth/password-reset/confirm', { token, new_password: password }, { redirectOn401: false });
    } catch (err) {
      showApiError(form, err, { fieldFor: { WEAK_PASSWORD: 'new_password' } });
      if (err && err.code === 'PASSWORD_RESET_INVALID') {
        form.after(h('p', { class: 'switch' }, h('a', { href: '#/forgot-password', 'data-testid': 'to-forgot-password' }, t('resetPassword.askAgain'))));
      }
      return;
    }
    // the old session (if any) has ended with the reset
    ctx.session.account = null;
    const done = h('div', { class: 'notice success', role: 'status', 'data-testid': 'reset-password-done', tabindex: '-1' },
      h('p', {}, t('resetPassword.done')));
    form.replaceWith(done,
      h('p', { class: 'switch' }, h('a', { href: '#/login', 'data-testid': 'to-login' }, t('resetPassword.toLogin'))));
    done.focus();
  });
  return section;
}
