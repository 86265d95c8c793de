// Pieces shared by the dashboard and the Subscriptions tab: status badges, the sentences for
// scheduled changes, and the table of price lines a preview (or a charge) consists of.
import { t, has } from './i18n.js';
import { h } from './dom.js';
import { money, date, isMoney } from './format.js';
import { lineText } from './line-text.js';

export const STATUSES = ['active', 'paused', 'suspended', 'cancelled'];

export function statusText(status) {
  return has(`subscriptionStatus.${status}`) ? t(`subscriptionStatus.${status}`) : String(status || '');
}

export function statusBadge(status, attrs = {}) {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: `badge status-${known}`, 'data-status': status, ...attrs }, statusText(status));
}

// Prices: the API gives each as net, tax and gross for the customer's tax region. Consumers see
// gross prices with the tax named (EU price rules); an operator selling to businesses shows net
// (the catalog answers' `price_display`, the operator's PRICE_DISPLAY).
let priceDisplay = 'gross';

export function setPriceDisplay(value) {
  if (value === 'gross' || value === 'net') priceDisplay = value;
}

/** The amount to show of a `{net, tax, gross}` price; `fallback` (net) where there is none. */
export function shownPrice(taxed, fallback = null) {
  return taxed && isMoney(taxed[priceDisplay]) ? taxed[priceDisplay] : fallback;
}

/** "Prices include VAT (MwSt.) 19 %", or excluding it, or that no tax applies. */
export function taxNote(tax) {
  if (!tax || !tax.rate_bp) return t('prices.noTax');
  const rate = new Intl.NumberFormat(document.documentElement.lang || 'en', { style: 'percent', maximumFractionDigits: 2 })
    .format(tax.rate_bp / 10000);
  return t(priceDisplay === 'net' ? 'prices.excluding' : 'prices.including', { tax: tax.name || '', rate });
}

/** Price per billing period: "€14.99 per month". */
export function pricePer(price, period) {
  if (!isMoney(price)) return '';
  return t(period === 'year' ? 'subscriptions.perYear' : 'subscriptions.perMonth', { amount: money(price) });
}

/** "Changes to Basic on 21 Dec 2026", "Cancels on …", "Paused until …", one per line. */
export function scheduleSentences(sub) {
  const lines = [];
  if (sub.status === 'paused') {
    lines.push(sub.pause_until ? t('schedule.pausedUntil', { date: date(sub.pause_until) }) : t('schedule.pausedOpenEnded'));
  }
  for (const change of sub.scheduled_changes || []) {
    const when = date(change.effective_date);
    if (change.kind === 'change_package') {
      lines.push(t('schedule.changesTo', { package: change.package_name || change.package || '', date: when }));
    } else if (change.kind === 'cancel') {
      lines.push(t('schedule.cancelsOn', { date: when }));
    } else {
      lines.push(t('schedule.other', { date: when }));
    }
  }
  return lines;
}

/** "21 Dec 2026 · €17.84", or the reason there is none. */
export function renewalText(sub) {
  const renewal = sub.next_renewal;
  if (!renewal) return t('subscriptions.noRenewal');
  const parts = [date(renewal.date), money(renewal.amount)].filter(Boolean);
  return parts.join(' · ');
}

// Credits and discounts always read as money going back to the customer.
function lineAmount(line) {
  const amount = line.amount;
  if (!isMoney(amount)) return '';
  const back = line.kind === 'credit' || line.kind === 'discount';
  return money(back && amount.amount > 0 ? { ...amount, amount: -amount.amount } : amount);
}

/** The lines of a preview or of charges, and what is due now (or credited). */
export function priceTable(preview, { caption } = {}) {
  const lines = Array.isArray(preview && preview.lines) ? preview.lines : [];
  const due = preview && preview.amount_due;
  const credited = isMoney(due) && due.amount < 0;
  return h('table', { class: 'price-table' },
    caption ? h('caption', {}, caption) : null,
    h('thead', { class: 'visually-hidden' },
      h('tr', {},
        h('th', { scope: 'col' }, t('preview.item')),
        h('th', { scope: 'col' }, t('preview.amount')))),
    h('tbody', {},
      lines.length
        ? lines.map((line) => h('tr', { 'data-testid': 'preview-line', 'data-kind': line.kind || '' },
          h('th', { scope: 'row' }, lineText(line)),
          h('td', { class: 'amount' }, lineAmount(line))))
        : h('tr', {}, h('td', { colspan: '2', class: 'muted' }, t('preview.noLines')))),
    isMoney(due)
      ? h('tfoot', {},
        h('tr', { class: 'total' },
          h('th', { scope: 'row' }, credited ? t('preview.creditedNow') : t('preview.dueNow')),
          h('td', { class: 'amount', 'data-testid': 'preview-amount-due' }, money(credited ? { ...due, amount: -due.amount } : due))))
      : null);
}

/** When a previewed change takes effect, in words. */
export function effectText(preview) {
  if (preview && preview.scheduled) {
    const when = date(preview.effective_at || preview.effective_date);
    const renewal = preview.next_renewal && preview.next_renewal.amount;
    return isMoney(renewal)
      ? t('preview.scheduledWithRenewal', { date: when, amount: money(renewal) })
      : t('preview.scheduled', { date: when });
  }
  return t('preview.immediate');
}

/**
 * A suspended subscription (a prepaid renewal that could not be paid): what to do about it,
 * with a link to the Wallet tab (prepaid accounts only have one). Null for other statuses.
 */
export function suspendedNotice(sub, billingType, attrs = {}) {
  if (!sub || sub.status !== 'suspended') return null;
  const withWallet = !billingType || billingType === 'prepaid';
  return h('p', { class: 'notice error suspended-notice', ...attrs },
    h('span', {}, t(withWallet ? 'subscriptions.suspendedTopUp' : 'subscriptions.suspendedOther')),
    withWallet ? [' ', h('a', { href: '#/wallet', 'data-testid': 'suspended-top-up' }, t('subscriptions.toWallet'))] : null);
}
