// Ops → Insights (`#/ops/insights`, admins only; docs/insights.md): the business as billing and
// tickets count it (GET /api/v1/ops/insights): active subscribers by package, churn, why
// customers cancel, average revenue per account, the wallets' float and what is overdue,
// tickets by category and how long they take; and the switches for the kinds of
// recommendation customers get (GET/PUT /api/v1/ops/insights/recommendation-kinds).
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import { h, errorText, resultRegion, formMessage, setMessage, onSubmit } from '../dom.js';
import { money, locale } from '../format.js';
import { chartFigure, numbersTable } from '../chart-view.js';
import { monthLabel, asMoney } from '../insights-view.js';

const API = '/api/v1/ops/insights';
const RANGES = [6, 12, 24];
const KINDS = ['unused_addon', 'unused_package', 'cheaper_package', 'better_package', 'top_up'];

const list = (value) => (Array.isArray(value) ? value : []);
const number = (n, digits = 0) => new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(n) || 0);
const percent = (rate) => new Intl.NumberFormat(locale(), { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 2 }).format(Number(rate) || 0);
const months = (rows) => [...new Set(rows.map((r) => r.month))].sort();

function label(group, key) {
  const full = `opsInsights.${group}.${String(key || '')}`;
  return key && has(full) ? t(full) : String(key || t('opsInsights.unknown'));
}

function duration(minutes) {
  const n = Math.round(Number(minutes) || 0);
  if (n < 60) return t('opsInsights.minutes', { minutes: n });
  if (n < 24 * 60) return t('opsInsights.hours', { hours: Math.floor(n / 60), minutes: n % 60 });
  return t('opsInsights.days', { days: number(n / 1440, 1) });
}

function card(id, title, testid, ...body) {
  return h('section', { class: 'card insights-card', 'aria-labelledby': id, 'data-testid': testid }, h('h2', { id }, title), ...body);
}

const empty = (testid) => h('p', { class: 'muted', 'data-testid': testid }, t('opsInsights.noData'));

function subscribersCard(rows, names = {}) {
  const named = (code) => names[code] || code; // retired packages keep their code
  const labels = months(rows);
  const packages = [...new Set(rows.map((r) => r.package))].sort();
  const value = (pkg, month) => (rows.find((r) => r.package === pkg && r.month === month) || {}).active || 0;
  const last = labels[labels.length - 1];
  const body = rows.length ? chartFigure({
    id: 'ops-subscribers',
    testid: 'ops-subscribers-chart',
    summary: t('opsInsights.subscribers.summary', {
      month: monthLabel(last),
      total: number(packages.reduce((n, p) => n + value(p, last), 0)),
      packages: packages.length,
    }),
    chart: { type: 'line', labels: labels.map((m) => monthLabel(m, { short: true })), series: packages.map((p) => ({ label: named(p), values: labels.map((m) => value(p, m)) })), format: (v) => number(v) },
    table: {
      caption: t('opsInsights.subscribers.title'),
      columns: [{ label: t('opsInsights.month') }, ...packages.map((p) => ({ label: named(p) }))],
      rows: labels.map((m) => ({ head: monthLabel(m), cells: packages.map((p) => number(value(p, m))) })),
    },
  }) : empty('ops-subscribers-empty');
  return card('ops-subscribers-title', t('opsInsights.subscribers.title'), 'ops-insights-subscribers', body);
}

function churnCard(churn, reasons) {
  const parts = [];
  if (churn.length) {
    const rows = [...churn].sort((a, b) => String(a.month).localeCompare(String(b.month)));
    const average = rows.reduce((n, r) => n + Number(r.rate || 0), 0) / rows.length;
    parts.push(chartFigure({
      id: 'ops-churn',
      testid: 'ops-churn-chart',
      summary: t('opsInsights.churn.summary', { average: percent(average), months: rows.length }),
      chart: { type: 'line', labels: rows.map((r) => monthLabel(r.month, { short: true })), series: [{ label: t('opsInsights.churn.rate'), values: rows.map((r) => Number(r.rate || 0) * 100) }], legend: false, format: (v) => percent(v / 100) },
      table: {
        caption: t('opsInsights.churn.title'),
        columns: [{ label: t('opsInsights.month') }, { label: t('opsInsights.churn.activeAtStart') }, { label: t('opsInsights.churn.cancelled') }, { label: t('opsInsights.churn.rate') }],
        rows: rows.map((r) => ({ head: monthLabel(r.month), cells: [number(r.active_at_start), number(r.cancelled), percent(r.rate)] })),
      },
    }));
  } else {
    parts.push(empty('ops-churn-empty'));
  }
  parts.push(h('h3', {}, t('opsInsights.reasons.title')));
  if (reasons.length) {
    const rows = [...reasons].sort((a, b) => (b.count || 0) - (a.count || 0));
    const total = rows.reduce((n, r) => n + (r.count || 0), 0);
    parts.push(chartFigure({
      id: 'ops-reasons',
      testid: 'ops-reasons-chart',
      summary: t('opsInsights.reasons.summary', { total: number(total), top: label('reason', rows[0].reason), count: number(rows[0].count) }),
      chart: { type: 'bar', labels: rows.map((r) => label('reason', r.reason)), series: [{ label: t('opsInsights.reasons.count'), values: rows.map((r) => r.count || 0) }], legend: false, format: (v) => number(v) },
      table: {
        caption: t('opsInsights.reasons.title'),
        columns: [{ label: t('opsInsights.reasons.reason') }, { label: t('opsInsights.reasons.count') }],
        rows: rows.map((r) => ({ head: label('reason', r.reason), cells: [number(r.count)] })),
      },
    }));
  } else {
    parts.push(empty('ops-reasons-empty'));
  }
  return card('ops-churn-title', t('opsInsights.churn.title'), 'ops-insights-churn', ...parts);
}

function arpaCard(arpa) {
  const currencies = [...new Set(arpa.map((r) => r.currency))].sort();
  const parts = currencies.map((currency) => {
    const rows = arpa.filter((r) => r.currency === currency).sort((a, b) => String(a.month).localeCompare(String(b.month)));
    const fmt = (v) => money({ amount: Math.round(v), currency });
    const amount = (r) => (asMoney(r.amount, currency) || { amount: 0 }).amount;
    const last = rows[rows.length - 1];
    return chartFigure({
      id: `ops-arpa-${currency}`,
      testid: 'ops-arpa-chart',
      caption: currencies.length > 1 ? currency : null,
      summary: t('opsInsights.arpa.summary', { month: monthLabel(last.month), amount: fmt(amount(last)), accounts: number(last.accounts) }),
      chart: { type: 'bar', labels: rows.map((r) => monthLabel(r.month, { short: true })), series: [{ label: t('opsInsights.arpa.amount'), values: rows.map(amount) }], legend: false, format: fmt },
      table: {
        caption: t('opsInsights.arpa.tableCaption', { currency }),
        columns: [{ label: t('opsInsights.month') }, { label: t('opsInsights.arpa.amount') }, { label: t('opsInsights.arpa.accounts') }],
        rows: rows.map((r) => ({ head: monthLabel(r.month), cells: [fmt(amount(r)), number(r.accounts)] })),
      },
    });
  });
  return card('ops-arpa-title', t('opsInsights.arpa.title'), 'ops-insights-arpa', ...(parts.length ? parts : [empty('ops-arpa-empty')]));
}

function moneyCard(float, overdue) {
  const figure = (rows, kind, countKey) => (rows.length
    ? h('dl', { class: 'pairs', 'data-testid': `ops-${kind}` }, rows.map((r) => h('div', {},
      h('dt', {}, t(`opsInsights.${kind}.label`, { currency: r.currency })),
      h('dd', { class: 'figure-line strong' }, money(asMoney(r.amount, r.currency)), ' ',
        h('span', { class: 'muted' }, t(`opsInsights.${kind}.count`, { count: number(r[countKey]) }))))))
    : empty(`ops-${kind}-empty`));
  return card('ops-money-title', t('opsInsights.money.title'), 'ops-insights-money',
    h('h3', {}, t('opsInsights.float.title')),
    figure(float, 'float', 'wallets'),
    h('h3', {}, t('opsInsights.overdue.title')),
    figure(overdue, 'overdue', 'invoices'));
}

function ticketsCard(byCategory, resolve) {
  const categories = [...new Set(byCategory.map((r) => r.category))].sort();
  const sum = (category, key) => byCategory.filter((r) => r.category === category).reduce((n, r) => n + (r[key] || 0), 0);
  const parts = [];
  if (categories.length) {
    const opened = categories.reduce((n, c) => n + sum(c, 'opened'), 0);
    parts.push(chartFigure({
      id: 'ops-tickets',
      testid: 'ops-tickets-chart',
      summary: t('opsInsights.tickets.summary', { opened: number(opened), categories: categories.length }),
      chart: {
        type: 'bar',
        labels: categories.map((c) => label('category', c)),
        series: [
          { label: t('opsInsights.tickets.opened'), values: categories.map((c) => sum(c, 'opened')) },
          { label: t('opsInsights.tickets.resolved'), values: categories.map((c) => sum(c, 'resolved')) },
        ],
        format: (v) => number(v),
      },
      table: {
        caption: t('opsInsights.tickets.title'),
        columns: [{ label: t('opsInsights.tickets.category') }, { label: t('opsInsights.tickets.opened') }, { label: t('opsInsights.tickets.resolved') }],
        rows: categories.map((c) => ({ head: label('category', c), cells: [number(sum(c, 'opened')), number(sum(c, 'resolved'))] })),
      },
    }));
  } else {
    parts.push(empty('ops-tickets-empty'));
  }
  parts.push(h('h3', { id: 'ops-resolve-title' }, t('opsInsights.resolve.title')));
  parts.push(resolve.length
    ? h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': 'ops-resolve-title' },
      numbersTable({
        testid: 'ops-resolve-table',
        columns: [{ label: t('opsInsights.tickets.category') }, { label: t('opsInsights.tickets.resolved') }, { label: t('opsInsights.resolve.median') }, { label: t('opsInsights.resolve.p90') }],
        rows: resolve.map((r) => ({ head: label('category', r.category), cells: [number(r.resolved), duration(r.median_minutes), duration(r.p90_minutes)] })),
      }))
    : empty('ops-resolve-empty'));
  return card('ops-tickets-title', t('opsInsights.tickets.title'), 'ops-insights-tickets', ...parts);
}

function kindsCard() {
  const status = resultRegion('ops-kinds-status');
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'ops-kinds-form' });
  const load = async () => {
    let answer;
    try {
      answer = await api.get(`${API}/recommendation-kinds`);
    } catch (err) {
      if (!(err && err.handled)) form.replaceChildren(h('p', { class: 'notice muted' }, errorText(err)));
      return;
    }
    const kinds = (answer && answer.kinds) || {};
    const names = [...new Set([...KINDS, ...Object.keys(kinds)])];
    form.replaceChildren(
      h('fieldset', { class: 'field checkbox-group' },
        h('legend', {}, t('opsInsights.kinds.legend')),
        names.map((kind) => h('div', { class: 'checkbox' },
          h('input', { type: 'checkbox', id: `ops-kind-${kind}`, name: kind, checked: kinds[kind] !== false, 'data-kind': kind, 'data-testid': 'ops-kind' }),
          h('label', { for: `ops-kind-${kind}` }, has(`insights.kind.${kind}`) ? t(`insights.kind.${kind}`) : kind)))),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ops-kinds-save' }, t('opsInsights.kinds.save'))),
      formMessage());
  };
  onSubmit(form, async () => {
    const kinds = {};
    form.querySelectorAll('input[data-kind]').forEach((input) => { kinds[input.dataset.kind] = input.checked; });
    try {
      await api.put(`${API}/recommendation-kinds`, { kinds });
      setMessage(form, 'success', t('opsInsights.kinds.saved'));
      status.replaceChildren();
    } catch (err) {
      if (!(err && err.handled)) setMessage(form, 'error', errorText(err));
    }
  });
  load();
  return card('ops-kinds-title', t('opsInsights.kinds.title'), 'ops-insights-kinds',
    h('p', { class: 'muted' }, t('opsInsights.kinds.intro')), status, form);
}

export async function render(ctx) {
  const figures = h('div', { class: 'ops-insights-figures', 'aria-live': 'polite' });
  // packages by name, in the reader's language (the catalog's codes if it does not answer)
  const names = {};
  try {
    for (const pkg of list(((await api.get('/api/v1/catalog/packages')) || {}).data)) names[pkg.code] = pkg.name;
  } catch (err) { /* the codes are shown */ }
  const draw = async (range) => {
    figures.setAttribute('aria-busy', 'true');
    try {
      const data = (await api.get(`${API}?months=${range}`)) || {};
      if (ctx.isCurrent && !ctx.isCurrent()) return;
      // a service that did not answer in time: its figures are empty lists, and it is named
      const note = list(data.unavailable).length
        ? h('p', { class: 'notice warning', 'data-testid': 'ops-insights-partial' }, t('opsInsights.partial')) : null;
      figures.replaceChildren(...[
        note,
        subscribersCard(list(data.subscribers_by_package), names),
        churnCard(list(data.churn), list(data.cancellation_reasons)),
        h('div', { class: 'insights-grid' }, arpaCard(list(data.arpa)), moneyCard(list(data.wallet_float), list(data.overdue))),
        ticketsCard(list(data.tickets_by_category), list(data.time_to_resolve)),
      ].filter(Boolean));
    } catch (err) {
      if (err && err.handled) return;
      figures.replaceChildren(h('p', { class: 'notice error', role: 'alert', 'data-testid': 'ops-insights-error' }, errorText(err)));
    } finally {
      figures.removeAttribute('aria-busy');
    }
  };
  const chooser = h('fieldset', { class: 'period-chooser', 'data-testid': 'ops-period-chooser' },
    h('legend', {}, t('opsInsights.period')),
    RANGES.map((range) => {
      const id = `ops-months-${range}`;
      const input = h('input', { type: 'radio', id, name: 'ops-months', value: String(range), checked: range === 12 });
      input.addEventListener('change', () => input.checked && draw(range));
      return h('span', { class: 'radio inline' }, input, h('label', { for: id }, t('insights.spending.lastMonths', { count: range })));
    }));
  await draw(12);
  return h('section', { class: 'page wide insights-page', 'data-testid': 'page-ops-insights' },
    h('h1', {}, t('opsInsights.title')),
    h('p', { class: 'intro' }, t('opsInsights.intro')),
    chooser,
    figures,
    kindsCard());
}
