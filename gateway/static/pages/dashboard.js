import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, resultRegion } from '../dom.js';
import { money, date, isMoney } from '../format.js';
import { statusBadge, scheduleSentences, renewalText, suspendedNotice } from '../subscription-view.js';
import { statusBadge as ticketStatusBadge, ticketHash } from './support.js';
import { brandName as cardBrand } from '../payment-methods.js';

// GET /api/v1/dashboard answers every part of the main page at once. A part missing from the
// answer is not shown; a part marked {"unavailable": true} shows a short notice instead, and
// the rest of the page renders as usual.

function unavailableNotice() {
  return h('p', { class: 'notice muted', 'data-testid': 'dashboard-unavailable' }, t('dashboard.unavailable'));
}

function panel({ id, title, testid, link, body }) {
  return h('section', { class: 'card dashboard-panel', 'aria-labelledby': id, 'data-testid': testid },
    h('div', { class: 'panel-head' },
      h('h2', { id }, title),
      link ? h('a', { href: link.href, class: 'panel-link' }, link.text) : null),
    body);
}

function subscriptionItem(sub, billingType) {
  const pkg = sub.package || {};
  const addons = (sub.addons || []).map((a) => a.name).filter(Boolean);
  const schedule = scheduleSentences(sub);
  return h('li', { class: 'dash-sub', 'data-testid': 'dashboard-subscription', 'data-subscription-id': sub.id },
    h('div', { class: 'dash-sub-head' },
      h('h3', { 'data-testid': 'dashboard-package-name' }, pkg.name || pkg.code || ''),
      statusBadge(sub.status, { 'data-testid': 'dashboard-subscription-status' })),
    suspendedNotice(sub, billingType, { 'data-testid': 'dashboard-suspended' }),
    h('dl', { class: 'pairs' },
      h('div', {},
        h('dt', {}, t('subscriptions.addons')),
        h('dd', {}, addons.length ? addons.join(', ') : t('subscriptions.noAddons'))),
      sub.status !== 'cancelled'
        ? h('div', {},
          h('dt', {}, t('subscriptions.nextRenewal')),
          h('dd', { 'data-testid': 'dashboard-next-renewal' }, renewalText(sub)))
        : null),
    schedule.length
      ? h('ul', { class: 'schedule', 'data-testid': 'dashboard-schedule' }, schedule.map((line) => h('li', {}, line)))
      : null);
}

function subscriptionsPanel(part, account) {
  let body;
  if (part.unavailable) {
    body = unavailableNotice();
  } else {
    const subs = Array.isArray(part.data) ? part.data : [];
    body = subs.length
      ? h('ul', { class: 'dash-subs' }, subs.map((sub) => subscriptionItem(sub, account.billing_type)))
      : h('div', { class: 'empty' },
        h('p', {}, t('dashboard.noSubscriptions')),
        h('a', { href: '#/subscriptions', class: 'button primary', 'data-testid': 'dashboard-choose-package' }, t('dashboard.choosePackage')));
  }
  return panel({
    id: 'dash-subscriptions-title',
    title: t('dashboard.services'),
    testid: 'dashboard-subscriptions',
    link: { href: '#/subscriptions', text: t('dashboard.manageSubscriptions') },
    body,
  });
}

// The parts below come with later work; they are drawn from the fields the API contract fixes
// and ignore anything they do not know.

function count(part, ...names) {
  for (const name of names) if (Number.isInteger(part[name])) return part[name];
  return null;
}

function walletPanel(part) {
  const balance = part.balance;
  const threshold = part.low_balance_threshold;
  return panel({
    id: 'dash-wallet-title',
    title: t('dashboard.wallet'),
    testid: 'dashboard-wallet',
    link: { href: '#/wallet', text: t('dashboard.openWallet') },
    body: part.unavailable ? unavailableNotice() : h('div', {},
      h('p', { class: 'figure', 'data-testid': 'dashboard-balance' }, isMoney(balance) ? money(balance) : '–'),
      h('p', { class: 'muted' }, t('dashboard.balance')),
      part.low_balance
        ? h('div', { class: 'notice warning', 'data-testid': 'dashboard-low-balance' },
          h('p', {}, isMoney(threshold) && threshold.amount > 0
            ? t('dashboard.lowBalanceBelow', { threshold: money(threshold) })
            : t('dashboard.lowBalance')),
          h('a', { href: '#/wallet', class: 'button primary', 'data-testid': 'dashboard-top-up' }, t('dashboard.topUp')))
        : null),
  });
}

function billsPanel(part) {
  const overdue = count(part, 'overdue_count');
  const next = part.next_due;
  return panel({
    id: 'dash-bills-title',
    title: t('dashboard.bills'),
    testid: 'dashboard-bills',
    link: { href: '#/bills', text: t('dashboard.openBills') },
    body: part.unavailable ? unavailableNotice() : h('div', {},
      h('p', { class: 'figure', 'data-testid': 'dashboard-outstanding' },
        isMoney(part.outstanding_total) ? money(part.outstanding_total) : '–'),
      h('p', { class: 'muted' }, t('dashboard.outstanding')),
      overdue ? h('p', { class: 'notice warning', 'data-testid': 'dashboard-overdue' }, t('dashboard.overdue', { count: overdue })) : null,
      next && next.due_date
        ? h('p', { 'data-testid': 'dashboard-next-due' },
          t('dashboard.nextDue', { date: date(next.due_date), amount: money(next.amount_due) }),
          next.id && next.number
            ? [' ', h('a', { href: `#/bills/${encodeURIComponent(next.id)}` }, t('dashboard.viewBill', { number: next.number }))]
            : null)
        : null),
  });
}

// Open support requests: how many, and the latest few, each a link to the request.
function ticketsPanel(part) {
  const latest = Array.isArray(part.latest) ? part.latest : Array.isArray(part.data) ? part.data : [];
  const n = count(part, 'count', 'total') ?? latest.length;
  return panel({
    id: 'dash-tickets-title',
    title: t('dashboard.tickets'),
    testid: 'dashboard-tickets',
    link: { href: '#/support', text: t('dashboard.openSupport') },
    body: part.unavailable ? unavailableNotice() : h('div', {},
      h('p', { class: 'figure', 'data-testid': 'dashboard-open-tickets' }, String(n)),
      h('p', { class: 'muted', 'data-testid': 'dashboard-open-tickets-label' }, n ? t('dashboard.openTicketsLabel') : t('dashboard.noTickets')),
      latest.length
        ? h('ul', { class: 'plain-list dash-tickets', 'data-testid': 'dashboard-latest-tickets' }, latest.slice(0, 3).map((ticket) => h('li', {
          'data-testid': 'dashboard-ticket', 'data-ticket-id': ticket.id || '',
        },
        h('a', { href: ticketHash(ticket.id), 'data-testid': 'dashboard-ticket-link' },
          t('dashboard.ticketLink', { number: ticket.number ?? '', subject: ticket.subject || '' })),
        ' ',
        ticketStatusBadge(ticket.status, { 'data-testid': 'dashboard-ticket-status' }))))
        : null),
  });
}

// The unread count, which the navigation badge shows too (reported to the app by render()).
function notificationsPanel(part) {
  const n = count(part, 'count', 'total', 'unread');
  return panel({
    id: 'dash-notifications-title',
    title: t('dashboard.notifications'),
    testid: 'dashboard-notifications',
    link: { href: '#/notifications', text: t('dashboard.openNotifications') },
    body: part.unavailable || n === null ? unavailableNotice() : h('div', {},
      h('p', { class: 'figure', 'data-testid': 'dashboard-unread-count' }, String(n)),
      h('p', { class: 'muted', 'data-testid': 'dashboard-unread' }, t('dashboard.unreadLabel'))),
  });
}

// What happens next, first: will the services keep running (prepaid: the next renewal and the
// balance; postpaid: what is due, and whether autopay pays it).

function topUpHref(missing) {
  return isMoney(missing) && missing.amount > 0 ? `#/wallet/top-up/${missing.amount}` : '#/wallet';
}

function prepaidNext(part) {
  const next = part.next_renewal;
  if (!next) return [h('p', { 'data-testid': 'dashboard-next-text' }, t('dashboard.nothingRenews'))];
  const when = date(next.date);
  if (!next.covered) {
    return [
      h('p', { class: 'figure-line strong', 'data-testid': 'dashboard-next-text' },
        t('dashboard.renewalMissing', { date: when, amount: money(next.amount), missing: money(next.missing) })),
      h('p', { class: 'muted' }, t('dashboard.renewalMissingHint', { package: next.package })),
      h('div', { class: 'actions' },
        h('a', { href: topUpHref(next.missing), class: 'button primary', 'data-testid': 'dashboard-next-top-up' },
          t('dashboard.topUpMissing', { amount: money(next.missing) }))),
    ];
  }
  return [
    h('p', { class: 'figure-line', 'data-testid': 'dashboard-next-text' },
      t('dashboard.renewalCovered', { package: next.package, date: when, amount: money(next.amount) })),
    h('p', { class: 'muted', 'data-testid': 'dashboard-lasts' },
      part.lasts_until ? t('dashboard.lastsUntil', { date: date(part.lasts_until) }) : t('dashboard.lastsYear')),
  ];
}

function autopayText(autopay) {
  if (!autopay || !autopay.enabled) return t('dashboard.autopayOff');
  const card = autopay.method;
  if (!card) return t('dashboard.autopayNoCard');
  return t('dashboard.autopayOn', { card: t('dashboard.card', { brand: cardBrand(card.brand), last4: card.last4 }) });
}

function postpaidNext(part) {
  const next = part.next_due;
  const due = next && next.due_date
    ? [h('p', { class: 'figure-line strong', 'data-testid': 'dashboard-next-text' },
      t('dashboard.billDue', { amount: money(next.amount_due), date: date(next.due_date) })),
    h('div', { class: 'actions' },
      h('a', { href: `#/bills/${encodeURIComponent(next.id)}`, class: 'button primary', 'data-testid': 'dashboard-pay' }, t('dashboard.payNow')))]
    : [h('p', { class: 'figure-line', 'data-testid': 'dashboard-next-text' }, t('dashboard.nothingDue'))];
  return [
    ...due,
    h('p', { class: 'muted', 'data-testid': 'dashboard-autopay', 'data-enabled': String(Boolean(part.autopay && part.autopay.enabled)) },
      autopayText(part.autopay), ' ',
      h('a', { href: '#/bills', 'data-testid': 'dashboard-autopay-link' }, t('dashboard.autopayManage'))),
  ];
}

function nextPanel(data, account) {
  const part = account.billing_type === 'prepaid' ? data.wallet : data.bills;
  if (!part) return null;
  const subs = data.subscriptions && Array.isArray(data.subscriptions.data) ? data.subscriptions.data : [];
  if (!part.unavailable && !subs.length && account.billing_type === 'prepaid') return null; // the services panel invites
  const attention = account.billing_type === 'prepaid'
    ? Boolean(part.next_renewal && !part.next_renewal.covered)
    : Boolean(part.next_due && part.next_due.due_date);
  return h('section', {
    class: `card dashboard-next${attention ? ' attention' : ''}`,
    'aria-labelledby': 'dash-next-title',
    'data-testid': 'dashboard-next',
    'data-attention': String(attention),
  },
  h('h2', { id: 'dash-next-title' }, t('dashboard.nextTitle')),
  part.unavailable ? unavailableNotice()
    : account.billing_type === 'prepaid' ? prepaidNext(part) : postpaidNext(part));
}

// Insights in small (the Insights page has the rest): the last six months' spending, the
// budget's state when there is a budget, and the top recommendations. Asked for after the main
// answer and drawn when they come, with the code that draws them (insights-view.js, a chunk
// loaded on demand), so they never hold the page up or weigh on its first load; the panel stays
// hidden when there is nothing to show or the insights cannot be had (offline, say).
const TOP_RECOMMENDATIONS = 2;
const INSIGHTS = '/api/v1/insights';

function insightsPanel(account) {
  const body = h('div', { class: 'dash-insights' });
  const status = resultRegion('dashboard-recommendations-status');
  const section = h('section', {
    class: 'card dashboard-insights', 'aria-labelledby': 'dash-insights-title', 'data-testid': 'dashboard-insights', hidden: true,
  },
  h('div', { class: 'panel-head' },
    h('h2', { id: 'dash-insights-title' }, t('insights.dashboard.title')),
    h('a', { href: '#/insights', class: 'panel-link', 'data-testid': 'dashboard-insights-link' }, t('insights.dashboard.open'))),
  status,
  body);
  const quiet = (promise) => promise.catch(() => null);
  Promise.all([
    import('../insights-view.js'),
    quiet(api.get(`${INSIGHTS}/spending`)), // the server's last six months
    quiet(api.get(`${INSIGHTS}/budget`)),
    quiet(api.get(`${INSIGHTS}/recommendations`).then((answer) => (answer && answer.data) || [])),
  ]).then(([view, spending, budget, recs]) => {
    const { spendingFigure, hasSpending, budgetFigures, budgetState, recommendationList } = view;
    const parts = [];
    if (spending && hasSpending(spending)) {
      parts.push(h('div', { class: 'dash-insights-part', 'data-testid': 'dashboard-spending' },
        h('h3', {}, t('insights.dashboard.spending')),
        spendingFigure(spending, { compact: true, testid: 'dashboard-spending-chart', id: 'dash-spending' })));
    }
    const figures = budget ? budgetFigures(budget, account.currency) : null;
    if (figures && figures.budget) {
      parts.push(h('div', { class: 'dash-insights-part', 'data-testid': 'dashboard-budget' },
        h('h3', {}, t('insights.dashboard.budget')),
        budgetState(figures, { testid: 'dashboard-budget-state' })));
    }
    const top = Array.isArray(recs) ? recs.slice(0, TOP_RECOMMENDATIONS) : [];
    if (top.length) {
      const part = h('div', { class: 'dash-insights-part', 'data-testid': 'dashboard-recommendations' },
        h('h3', {}, t('insights.dashboard.recommendations')));
      part.append(recommendationList(top, {
        status,
        level: 4,
        testid: 'dashboard-recommendation-list',
        onEmpty: () => {
          part.remove();
          const title = document.getElementById('dash-insights-title');
          title.setAttribute('tabindex', '-1');
          title.focus();
        },
      }));
      parts.push(part);
    }
    if (!parts.length) return;
    body.replaceChildren(...parts);
    section.hidden = false;
  }, () => {
    // the drawing code could not be loaded (offline): the panel stays hidden
  });
  return section;
}

const PARTS = [
  ['subscriptions', subscriptionsPanel],
  ['wallet', walletPanel],
  ['bills', billsPanel],
  ['open_tickets', ticketsPanel],
  ['unread_notifications', notificationsPanel],
];

export async function render(ctx) {
  const data = await api.get('/api/v1/dashboard');
  const account = { ...(ctx.session.account || {}), ...(data.account || {}) };
  ctx.session.account = account;
  ctx.refreshShell();
  const panels = [];
  for (const [name, draw] of PARTS) {
    let part = data[name];
    if (part === undefined || part === null) continue;
    if (typeof part !== 'object') part = { count: part }; // a bare number, e.g. unread_notifications: 3
    panels.push(draw(part, account));
  }
  const unread = data.unread_notifications;
  ctx.setUnread(typeof unread === 'number' ? unread : unread && !unread.unavailable ? unread.count : null);
  return h('section', { class: 'page', 'data-testid': 'page-dashboard' },
    h('h1', { 'data-testid': 'dashboard-greeting' }, t('dashboard.greeting', { name: account.name || '' })),
    nextPanel(data, account),
    h('div', { class: 'dashboard-grid' }, panels),
    insightsPanel(account));
}
