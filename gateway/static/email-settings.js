// Settings → Profile: the e-mail address, whether it is confirmed, a new one waiting for its
// link to be followed ("Send the link again"), and changing it (with the current password; the
// old address stays in use until the link sent to the new one is followed).
import * as api from './api.js';
import { t } from './i18n.js';
import { h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, clearErrors, errorText, EMAIL_RE } from './dom.js';

export function emailSettings(ctx, account) {
  const state = h('div', { class: 'email-state', 'data-testid': 'email-state' });
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'email-error' });
  const sent = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'email-resent' });

  const draw = (current) => {
    const resend = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'email-resend' }, t('emailSettings.resend'));
    resend.addEventListener('click', async () => {
      if (resend.disabled) return;
      resend.disabled = true;
      problem.replaceChildren();
      sent.textContent = '';
      try {
        const answer = await api.post('/api/v1/me/email/verification', {});
        sent.textContent = t('emailSettings.resent', { email: (answer && answer.pending_email) || current.email });
      } catch (err) {
        if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
      } finally {
        resend.disabled = false;
      }
    });
    const unconfirmed = current.pending_email || current.email_verified === false;
    state.replaceChildren(
      h('p', { class: 'readonly' },
        h('span', { class: 'readonly-label' }, `${t('settings.email')}: `),
        h('span', { 'data-testid': 'settings-email' }, current.email), ' ',
        current.email_verified === false
          ? h('span', { class: 'badge badge-warning', 'data-testid': 'email-unverified' }, t('emailSettings.unverified'))
          : current.email_verified ? h('span', { class: 'badge badge-default', 'data-testid': 'email-verified' }, t('emailSettings.verified')) : null),
      current.pending_email
        ? h('p', { class: 'notice warning', 'data-testid': 'email-pending' }, t('emailSettings.pending', { email: current.pending_email, old: current.email }))
        : current.email_verified === false ? h('p', { class: 'hint' }, t('emailSettings.unverifiedHint')) : null,
      unconfirmed ? h('div', { class: 'actions' }, resend) : null);
  };
  draw(account);

  const F = 'email-change';
  const form = h('form', { class: 'form', 'data-testid': 'email-change-form', novalidate: true, 'aria-labelledby': 'email-change-title' },
    formMessage(),
    field({ form: F, name: 'email', label: t('emailSettings.newEmail'), type: 'email', attrs: { autocomplete: 'email', inputmode: 'email', spellcheck: 'false' } }),
    field({ form: F, name: 'current_password', label: t('settings.currentPassword'), type: 'password', hint: t('emailSettings.passwordHint'), attrs: { autocomplete: 'current-password' } }),
    h('div', { class: 'actions' }, submitButton(t('emailSettings.change'))));
  onSubmit(form, async () => {
    const email = value(form, 'email').trim();
    const password = value(form, 'current_password');
    const problems = {};
    if (!email) problems.email = t('validation.required');
    else if (!EMAIL_RE.test(email)) problems.email = t('validation.email');
    if (showProblems(form, problems)) return;
    let updated;
    try {
      // without the password an old sign-in is asked to confirm it is them (reauth.js)
      updated = await api.patch('/api/v1/me', password ? { email, current_password: password } : { email });
    } catch (err) {
      showApiError(form, err, { fieldFor: { INVALID_CREDENTIALS: 'current_password', EMAIL_TAKEN: 'email' } });
      return;
    }
    ctx.session.account = { ...ctx.session.account, ...updated };
    form.reset();
    clearErrors(form);
    draw(updated);
    setMessage(form, 'success', updated.pending_email
      ? t('emailSettings.pending', { email: updated.pending_email, old: updated.email })
      : t('settings.saved'));
  });

  return h('div', { class: 'email-settings' },
    state, problem, sent,
    h('details', { class: 'action email-change' },
      h('summary', { id: 'email-change-title', 'data-testid': 'email-change-toggle' }, t('emailSettings.changeTitle')),
      form));
}
