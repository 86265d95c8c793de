// The link of an address verification e-mail (#/verify-email/<token>): confirmed at once,
// signed in or not.
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, errorText } from '../dom.js';

export async function render(ctx) {
  const [token] = ctx.params;
  const status = h('div', { class: 'form-message', 'data-testid': 'verify-email-status', role: 'status', 'aria-live': 'polite' });
  const next = ctx.session.account
    ? h('p', { class: 'switch' }, h('a', { href: '#/settings/profile', 'data-testid': 'to-settings' }, t('verifyEmail.toSettings')))
    : h('p', { class: 'switch' }, h('a', { href: '#/login', 'data-testid': 'to-login' }, t('verifyEmail.toLogin')));
  try {
    const account = await api.post('/api/v1/auth/verify-email', { token }, { redirectOn401: false });
    status.dataset.kind = 'success';
    status.replaceChildren(h('p', {}, t('verifyEmail.done', { email: account.email })));
    if (ctx.session.account && ctx.session.account.id === account.id) ctx.session.account = { ...ctx.session.account, ...account };
  } catch (err) {
    status.dataset.kind = 'error';
    status.setAttribute('role', 'alert');
    status.replaceChildren(h('p', {}, errorText(err)));
  }
  return h('section', { class: 'page card narrow', 'data-testid': 'page-verify-email' },
    h('h1', {}, t('verifyEmail.title')),
    status,
    next);
}
