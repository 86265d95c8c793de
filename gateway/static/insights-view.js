// What the Insights page and the dashboard both show (docs/insights.md): spending as a chart
// with its table, the budget's state with a progress bar, and recommendations with Apply (the
// normal change flow, with its preview) and Not interested.
import * as api from './api.js';
import { t, has } from './i18n.js';
import { h, errorText } from './dom.js';
import { money, date, isMoney, locale } from './format.js';
import { chartFigure } from './chart-view.js';

export const API = '/api/v1/insights';

// What is charged, stacked in this order; discounts and credits (≤ 0) are one series below zero.
export const KINDS = ['package', 'addons', 'devices', 'one_off', 'taxes', 'discounts'];
const PREPAID = ['top_ups', 'vouchers'];

/** An amount from the API: a money object, or an integer in minor units of `currency`. */
export function asMoney(value, currency) {
  if (isMoney(value)) return value;
  if (Number.isInteger(value) && currency) return { amount: value, currency };
  if (typeof value === 'string' && /^-?\d+$/.test(value) && currency) return { amount: Number(value), currency };
  return null;
}

const minorOf = (value) => (isMoney(value) ? value.amount : Number.isInteger(value) ? value : Number(value) || 0);

/** "Nov 2026" (or "Nov 26" when `short`) from "2026-11". */
export function monthLabel(period, { short = false } = {}) {
  const found = /^(\d{4})-(\d{2})/.exec(String(period || ''));
  if (!found) return String(period || '');
  const when = new Date(Date.UTC(Number(found[1]), Number(found[2]) - 1, 1));
  return new Intl.DateTimeFormat(locale(), { month: 'short', year: short ? '2-digit' : 'numeric', timeZone: 'UTC' }).format(when);
}

/** "YYYY-MM" of the month `delta` months after `month` ("YYYY-MM"). */
function shiftMonth(month, delta) {
  const [year, mon] = month.split('-').map(Number);
  const when = new Date(Date.UTC(year, mon - 1 + delta, 1));
  return when.toISOString().slice(0, 7);
}

/**
 * The last `count` months of spending, this month included. "This month" is the server's (its
 * clock decides what is charged when): the six months the API gives by default, or `count`
 * months up to `until` ("YYYY-MM", the last month of an answer had before).
 */
export function loadSpending(count = 6, until = null) {
  if (count === 6 && !until) return api.get(`${API}/spending`);
  const last = until || new Date().toISOString().slice(0, 7);
  return api.get(`${API}/spending?from=${shiftMonth(last, -(count - 1))}&to=${last}&group=month`);
}

/** The last month of a spending answer ("YYYY-MM"), or null. */
export function lastPeriod(data) {
  const periods = (data && data.periods) || [];
  return periods.length ? String(periods[periods.length - 1].period).slice(0, 7) : null;
}

/** One period's amounts in minor units: the kinds (discounts and credits together), total, top-ups, vouchers. */
function periodAmounts(period) {
  const kinds = period.kinds || {};
  const out = {};
  for (const kind of KINDS) out[kind] = minorOf(kinds[kind]);
  out.discounts += minorOf(kinds.credits);
  out.total = period.total !== undefined ? minorOf(period.total) : KINDS.reduce((n, k) => n + out[k], 0);
  for (const kind of PREPAID) out[kind] = minorOf(period[kind]);
  return out;
}

/** Whether any period has anything charged or put in the wallet. */
export function hasSpending(data) {
  const periods = (data && data.periods) || [];
  return periods.some((p) => {
    const a = periodAmounts(p);
    return KINDS.some((k) => a[k]) || a.total || a.top_ups || a.vouchers;
  });
}

/**
 * The spending chart: bars by month stacked by kind (`compact`: one bar a month, the total, no
 * legend), top-ups and vouchers as bars of their own beside them when there are any (`prepaid`
 * shows them even at zero); the numbers in a table.
 */
export function spendingFigure(data, { compact = false, prepaid = false, testid = 'spending-chart', id = 'spending' } = {}) {
  const currency = data.currency;
  const periods = Array.isArray(data.periods) ? data.periods : [];
  const amounts = periods.map(periodAmounts);
  const fmt = (minor) => money({ amount: Math.round(minor), currency });
  const labels = periods.map((p) => monthLabel(p.period, { short: true }));
  const wallet = prepaid || amounts.some((a) => a.top_ups || a.vouchers);
  const kindLabel = (kind) => t(`insights.kinds.${kind}`);
  const series = compact
    ? [{ label: kindLabel('total'), values: amounts.map((a) => a.total) }]
    : [
      ...KINDS.map((kind) => ({ label: kindLabel(kind), values: amounts.map((a) => a[kind]), stack: 'charges' })),
      ...(wallet ? PREPAID.map((kind, i) => ({
        label: kindLabel(kind), values: amounts.map((a) => a[kind]), stack: 'wallet', colour: 6 + i,
      })) : []),
    ];

  const total = amounts.reduce((n, a) => n + a.total, 0);
  let highest = null;
  amounts.forEach((a, i) => { if (!highest || a.total > highest.total) highest = { total: a.total, period: periods[i].period }; });
  const summary = periods.length
    ? t('insights.spending.summary', {
      months: periods.length,
      from: monthLabel(periods[0].period),
      to: monthLabel(periods[periods.length - 1].period),
      total: fmt(total),
      highest: highest ? monthLabel(highest.period) : '',
      highestAmount: highest ? fmt(highest.total) : '',
    })
    : t('insights.spending.none');

  const columns = compact ? ['total'] : [...KINDS, 'total', ...(wallet ? PREPAID : [])];
  const totals = periodAmounts((data.totals && { ...data.totals, kinds: data.totals.kinds || data.totals }) || {});
  return chartFigure({
    id,
    testid,
    size: compact ? 'small' : 'large',
    summary,
    chart: { type: 'bar', labels, series, stacked: !compact, legend: !compact, format: fmt, compact },
    table: {
      caption: t('insights.spending.tableCaption', { currency }),
      testid: 'spending-table',
      columns: [{ label: t('insights.spending.month') }, ...columns.map((c) => ({ label: kindLabel(c) }))],
      rows: periods.map((p, i) => ({ head: monthLabel(p.period), cells: columns.map((c) => fmt(amounts[i][c])) })),
      foot: compact || !data.totals ? null : { head: t('insights.spending.totalRow'), cells: columns.map((c) => fmt(totals[c])) },
    },
  });
}

// --- the budget ------------------------------------------------------------------------------

const STATES = { ok: 'success', warning: 'warning', over: 'error', projected_over: 'warning' };

/** {budget, so_far, projected, percent, projected_percent, state} in money and whole percents. */
export function budgetFigures(answer, fallbackCurrency) {
  const currency = (answer.budget && answer.budget.currency) || answer.currency || fallbackCurrency;
  const budget = answer.budget ? asMoney(answer.budget, currency) : null;
  const soFar = asMoney(answer.so_far, currency) || { amount: 0, currency };
  const projected = asMoney(answer.projected, currency) || soFar;
  // the server's percentages (what its alerts go by), else worked out here
  const pct = (given, part) => (Number.isInteger(given) ? given
    : budget && budget.amount > 0 ? Math.round((part.amount / budget.amount) * 100) : 0);
  return {
    budget, currency, soFar, projected,
    percent: pct(answer.percent, soFar),
    projectedPercent: pct(answer.projected_percent, projected),
    state: answer.state || (budget ? 'ok' : 'none'),
  };
}

/** The month so far against the budget: a progress bar, the figures and the state in words. */
export function budgetState(figures, { testid = 'budget-state' } = {}) {
  const { budget, soFar, projected, percent, projectedPercent, state } = figures;
  if (!budget) return null;
  const text = t('insights.budget.progress', { spent: money(soFar), budget: money(budget), percent });
  const bar = h('div', {
    class: `budget-bar state-${state}`,
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(Math.min(percent, 100)),
    'aria-valuetext': text,
    'aria-label': t('insights.budget.barLabel'),
    'data-testid': 'budget-bar',
  },
  h('span', { class: 'budget-fill', 'data-percent': String(Math.min(percent, 100)) }),
  projectedPercent > percent ? h('span', { class: 'budget-projected', 'data-percent': String(Math.min(projectedPercent, 100)) }) : null);
  // widths through the CSSOM (the CSP allows no inline style attribute)
  bar.querySelector('.budget-fill').style.width = `${Math.min(percent, 100)}%`;
  const mark = bar.querySelector('.budget-projected');
  if (mark) mark.style.width = `${Math.min(projectedPercent, 100)}%`;
  const stateKey = has(`insights.budget.state.${state}`) ? state : 'ok';
  return h('div', { class: 'budget-state', 'data-testid': testid, 'data-state': state },
    h('p', { class: 'budget-figures', 'data-testid': 'budget-progress' }, text),
    bar,
    h('p', { class: 'muted', 'data-testid': 'budget-projected' }, t('insights.budget.projected', { amount: money(projected), percent: projectedPercent })),
    h('p', { class: `notice ${STATES[state] || 'success'}`, 'data-testid': 'budget-message' },
      t(`insights.budget.state.${stateKey}`, { budget: money(budget), projected: money(projected), percent })));
}

// --- recommendations -------------------------------------------------------------------------

const nameOf = (value) => (value && typeof value === 'object' ? value.name || value.code || '' : value);
const MONEY_PARAMS = ['saving', 'difference', 'amount', 'price'];

/** The reason's params as the sentence shows them: money, dates and names formatted. */
function reasonParams(rec) {
  const params = { ...((rec.reason && rec.reason.params) || {}) };
  for (const [key, value] of Object.entries(params)) {
    if (MONEY_PARAMS.includes(key)) params[key] = money(asMoney(value, rec.currency)) || String(value);
    else if (key === 'date') params[key] = date(value);
    else if (Array.isArray(value)) params[key] = value.map(nameOf).join(', ');
    else if (typeof value === 'number') params[key] = new Intl.NumberFormat(locale()).format(value);
    else params[key] = nameOf(value);
  }
  return params;
}

export function reasonText(rec) {
  const code = rec.reason && rec.reason.code;
  return code && has(`insights.reason.${code}`) ? t(`insights.reason.${code}`, reasonParams(rec)) : t('insights.reason.generic');
}

function effectText(rec) {
  const effect = asMoney(rec.monthly_effect, rec.currency);
  if (!effect || !effect.amount) return null;
  return effect.amount < 0
    ? t('insights.effect.saves', { amount: money(effect, { negate: true }) })
    : t('insights.effect.costs', { amount: money(effect) });
}

/** Where Apply leads: the normal change flow with this change chosen (its preview first). */
export function applyHref(rec) {
  const action = rec.action || {};
  const sub = encodeURIComponent(action.subscription_id || rec.subscription_id || '');
  const code = (value) => encodeURIComponent(value && typeof value === 'object' ? value.code : value);
  if (action.type === 'remove_addon' && sub && action.addon) return `#/subscriptions/apply/${sub}/remove_addon/${code(action.addon)}`;
  if (action.type === 'change_package' && sub && action.package) return `#/subscriptions/apply/${sub}/change_package/${code(action.package)}`;
  if (action.type === 'top_up') {
    const amount = asMoney(action.amount, rec.currency);
    return amount && amount.amount > 0 ? `#/wallet/top-up/${amount.amount}` : '#/wallet';
  }
  return null;
}

export function loadRecommendations() {
  return api.get(`${API}/recommendations`).then((answer) => (Array.isArray(answer && answer.data) ? answer.data : []));
}

/**
 * A list of recommendations; "Not interested" dismisses one (for good) and removes it, saying
 * so in `status` and moving the keyboard to the next one (or `afterAll` when none is left).
 */
export function recommendationList(recs, { status, level = 3, onEmpty, testid = 'recommendations' }) {
  const list = h('ul', { class: 'recommendations plain-list', 'data-testid': testid });
  const item = (rec) => {
    const titleId = `rec-${rec.id}-title`;
    const effect = effectText(rec);
    const href = applyHref(rec);
    const dismiss = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'recommendation-dismiss', 'aria-describedby': titleId }, t('insights.notInterested'));
    const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'recommendation-error' });
    const li = h('li', { class: 'recommendation', 'data-testid': 'recommendation', 'data-kind': rec.kind, 'data-recommendation-id': rec.id },
      h(`h${level}`, { id: titleId, class: 'recommendation-title' }, has(`insights.kind.${rec.kind}`) ? t(`insights.kind.${rec.kind}`) : t('insights.kind.other')),
      h('p', { 'data-testid': 'recommendation-reason' }, reasonText(rec)),
      effect ? h('p', { class: `recommendation-effect ${asMoney(rec.monthly_effect, rec.currency).amount < 0 ? 'saves' : 'costs'}`, 'data-testid': 'recommendation-effect' }, effect) : null,
      h('div', { class: 'actions' },
        href ? h('a', { href, class: 'button primary', 'data-testid': 'recommendation-apply', 'aria-describedby': titleId }, t('insights.apply')) : null,
        dismiss),
      problem);
    dismiss.addEventListener('click', async () => {
      dismiss.disabled = true;
      problem.replaceChildren();
      try {
        await api.post(`${API}/recommendations/${encodeURIComponent(rec.id)}/dismiss`);
      } catch (err) {
        dismiss.disabled = false;
        if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
        return;
      }
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      if (status) status.replaceChildren(h('p', { class: 'notice success' }, t('insights.dismissed')));
      if (next) {
        const heading = next.querySelector('.recommendation-title');
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      } else if (onEmpty) {
        onEmpty();
      }
    });
    return li;
  };
  list.append(...recs.map(item));
  return list;
}
