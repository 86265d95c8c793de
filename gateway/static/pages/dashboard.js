import * as api from '../api.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';

// For now built from GET /api/v1/me; later work switches to GET /api/v1/dashboard.
export async function render(ctx) {
  const account = await api.get('/api/v1/me');
  ctx.session.account = account;
  ctx.refreshShell();
  return h('section', { class: 'page', 'data-testid': 'page-dashboard' },
    h('h1', { 'data-testid': 'dashboard-greeting' }, t('dashboard.greeting', { name: account.name })),
    h('dl', { class: 'facts' },
      h('div', {},
        h('dt', {}, t('dashboard.billingType')),
        h('dd', { 'data-testid': 'dashboard-billing-type' }, t(`billing.${account.billing_type}`))),
      h('div', {},
        h('dt', {}, t('dashboard.currency')),
        h('dd', { 'data-testid': 'dashboard-currency' }, account.currency))),
    h('p', { class: 'notice' }, t('dashboard.later')));
}
