// Insights (`#/insights`, docs/insights.md): what the customer paid month by month (a chart
// stacked by kind, with its table), the monthly budget (set, change, remove; the month so far
// and projected), recommendations from what they pay and watch (Apply opens the normal change
// flow with its preview; Not interested hides one for good), and the viewing data kept about
// them with a switch to stop its use.
import * as api from '../api.js';
import { t } from '../i18n.js';
import {
  h, field, formMessage, setMessage, showProblems, showNestedError, onSubmit, value, errorText, resultRegion,
} from '../dom.js';
import { money, date, parseAmount, amountInput, fractionDigits, locale } from '../format.js';
import {
  API, asMoney, loadSpending, lastPeriod, spendingFigure, hasSpending, budgetFigures, budgetState, loadRecommendations,
  recommendationList,
} from '../insights-view.js';

const PERIODS = [6, 12];

function card(id, title, testid, ...body) {
  return h('section', { class: 'card insights-card', 'aria-labelledby': id, 'data-testid': testid },
    h('h2', { id }, title), ...body);
}

/** A part that could not be loaded: its reason, and the rest of the page as usual. */
function failed(err, testid) {
  return h('p', { class: 'notice muted', 'data-testid': testid }, t('insights.unavailable'), ' ', errorText(err));
}

// --- spending --------------------------------------------------------------------------------

function spendingTotals(data, prepaid) {
  const totals = data.totals || {};
  const kinds = totals.kinds || totals;
  const currency = data.currency;
  const m = (v) => money(asMoney(v, currency) || { amount: 0, currency });
  const months = (data.periods || []).length || 1;
  const total = asMoney(totals.total, currency) || { amount: 0, currency };
  const discounts = { amount: (asMoney(kinds.discounts, currency) || { amount: 0 }).amount + (asMoney(kinds.credits, currency) || { amount: 0 }).amount, currency };
  const rows = [
    ['total', t('insights.spending.total'), money(total)],
    ['average', t('insights.spending.average'), money({ amount: Math.round(total.amount / months), currency })],
    ['taxes', t('insights.kinds.taxes'), m(kinds.taxes)],
    ['discounts', t('insights.kinds.discounts'), money(discounts)],
  ];
  if (prepaid || totals.top_ups || totals.vouchers) {
    rows.push(['top_ups', t('insights.kinds.top_ups'), m(totals.top_ups)]);
    rows.push(['vouchers', t('insights.kinds.vouchers'), m(totals.vouchers)]);
  }
  return h('dl', { class: 'pairs insights-totals', 'data-testid': 'spending-totals' },
    rows.map(([key, label, amount]) => h('div', { 'data-total': key }, h('dt', {}, label), h('dd', { 'data-testid': `spending-total-${key}` }, amount))));
}

function spendingCard(initial, initialError, account) {
  const prepaid = account.billing_type === 'prepaid';
  const slot = h('div', { class: 'spending-body', 'aria-live': 'polite' });
  let until = lastPeriod(initial); // the server's this month
  const drawData = (data) => {
    until = lastPeriod(data) || until;
    slot.replaceChildren(...[
      spendingFigure(data, { prepaid, id: 'spending' }),
      hasSpending(data) ? null : h('p', { class: 'muted', 'data-testid': 'spending-empty' }, t('insights.spending.nothing')),
      spendingTotals(data, prepaid),
      prepaid ? h('p', { class: 'muted small', 'data-testid': 'spending-prepaid-note' }, t('insights.spending.prepaidNote')) : null,
    ].filter(Boolean));
  };
  if (initial) drawData(initial);
  else slot.replaceChildren(failed(initialError, 'spending-unavailable'));

  const chooser = h('fieldset', { class: 'period-chooser', 'data-testid': 'period-chooser' },
    h('legend', {}, t('insights.spending.period')),
    PERIODS.map((months) => {
      const id = `spending-months-${months}`;
      const input = h('input', { type: 'radio', id, name: 'spending-months', value: String(months), checked: months === 6 });
      input.addEventListener('change', async () => {
        if (!input.checked) return;
        slot.setAttribute('aria-busy', 'true');
        try {
          drawData(await loadSpending(months, until));
        } catch (err) {
          if (!(err && err.handled)) slot.replaceChildren(failed(err, 'spending-unavailable'));
        } finally {
          slot.removeAttribute('aria-busy');
        }
      });
      return h('span', { class: 'radio inline' }, input, h('label', { for: id }, t('insights.spending.lastMonths', { count: months })));
    }));
  return card('spending-title', t('insights.spending.title'), 'insights-spending',
    h('p', { class: 'muted' }, t('insights.spending.intro')),
    chooser,
    slot);
}

// --- budget ----------------------------------------------------------------------------------

function budgetCard(initial, initialError, account) {
  const body = h('div', { class: 'budget-body' });
  const status = resultRegion('budget-status');
  const currency = account.currency || 'EUR';

  const drawBudget = (answer, { focus } = {}) => {
    const figures = budgetFigures(answer, currency);
    const F = 'budget';
    const form = h('form', { class: 'form inline-form', novalidate: true, 'data-testid': 'budget-form' },
      field({
        form: F,
        name: 'amount',
        label: t('insights.budget.amountLabel', { currency: figures.currency }),
        hint: t('insights.budget.amountHint'),
        value: figures.budget ? amountInput(figures.budget) : '',
        attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'budget-amount' },
      }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'button primary', 'data-testid': 'budget-save' },
          figures.budget ? t('insights.budget.change') : t('insights.budget.set')),
        figures.budget ? h('button', { type: 'button', class: 'button secondary', 'data-testid': 'budget-remove' }, t('insights.budget.remove')) : null),
      formMessage());
    onSubmit(form, async () => {
      const typed = value(form, 'amount').trim();
      const parsed = parseAmount(typed, figures.currency);
      if (!typed || parsed.error || parsed.amount <= 0) {
        showProblems(form, {
          amount: parsed.error === 'decimals'
            ? t('insights.budget.decimals', { digits: fractionDigits(figures.currency) })
            : t('insights.budget.amountProblem', { example: amountInput({ amount: 50 * 10 ** fractionDigits(figures.currency), currency: figures.currency }) }),
        });
        return;
      }
      try {
        const answer = await api.put(`${API}/budget`, { amount: { amount: parsed.amount, currency: figures.currency } });
        drawBudget(answer && 'state' in answer ? answer : await api.get(`${API}/budget`), { focus: true });
        status.replaceChildren(h('p', { class: 'notice success' }, t('insights.budget.saved', { amount: money({ amount: parsed.amount, currency: figures.currency }) })));
      } catch (err) {
        showNestedError(form, err);
      }
    });
    const remove = form.querySelector('[data-testid="budget-remove"]');
    if (remove) {
      remove.addEventListener('click', async () => {
        remove.disabled = true;
        try {
          await api.del(`${API}/budget`);
          drawBudget(await api.get(`${API}/budget`), { focus: true });
          status.replaceChildren(h('p', { class: 'notice success' }, t('insights.budget.removed')));
        } catch (err) {
          remove.disabled = false;
          if (!(err && err.handled)) setMessage(form, 'error', errorText(err));
        }
      });
    }
    body.replaceChildren(
      figures.budget
        ? budgetState(figures)
        : h('p', { 'data-testid': 'budget-none' }, t('insights.budget.none', {
          spent: money(figures.soFar), projected: money(figures.projected),
        })),
      form);
    if (focus) {
      const title = document.getElementById('budget-title');
      if (title) {
        title.setAttribute('tabindex', '-1');
        title.focus();
      }
    }
  };
  if (initial) drawBudget(initial);
  else body.replaceChildren(failed(initialError, 'budget-unavailable'));
  return card('budget-title', t('insights.budget.title'), 'insights-budget',
    h('p', { class: 'muted' }, t('insights.budget.intro')),
    status,
    body);
}

// --- recommendations -------------------------------------------------------------------------

function recommendationsCard(recs, error) {
  const status = resultRegion('recommendations-status');
  const slot = h('div', {});
  const none = () => h('p', { class: 'muted', 'data-testid': 'recommendations-none' }, t('insights.recommendations.none'));
  if (error) slot.append(failed(error, 'recommendations-unavailable'));
  else if (!recs.length) slot.append(none());
  else {
    slot.append(recommendationList(recs, {
      status,
      level: 3,
      onEmpty: () => {
        slot.replaceChildren(none());
        const title = document.getElementById('recommendations-title');
        title.setAttribute('tabindex', '-1');
        title.focus();
      },
    }));
  }
  return card('recommendations-title', t('insights.recommendations.title'), 'insights-recommendations',
    h('p', { class: 'muted' }, t('insights.recommendations.intro')),
    status,
    slot);
}

// --- viewing data ----------------------------------------------------------------------------

function minutesText(minutes) {
  const n = Number(minutes) || 0;
  const number = (x) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(x);
  return n >= 60 ? t('insights.viewing.hours', { hours: number(n / 60) }) : t('insights.viewing.minutes', { minutes: number(n) });
}

function viewingCard(initial, initialError) {
  const body = h('div', {});
  const status = resultRegion('viewing-status');
  const drawViewing = (answer) => {
    const channels = Array.isArray(answer.channels) ? answer.channels : [];
    const on = Boolean(answer.use_viewing);
    const switchId = 'viewing-use';
    const explainId = 'viewing-use-explained';
    const toggle = h('input', {
      type: 'checkbox', role: 'switch', id: switchId, checked: on, 'aria-describedby': explainId, 'data-testid': 'viewing-switch',
    });
    const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'viewing-error' });
    toggle.addEventListener('change', async () => {
      const wanted = toggle.checked;
      toggle.disabled = true;
      problem.replaceChildren();
      try {
        const saved = await api.put(`${API}/viewing`, { use_viewing: wanted });
        const next = saved && 'use_viewing' in saved && 'channels' in saved ? saved : await api.get(`${API}/viewing`);
        drawViewing(next);
        status.replaceChildren(h('p', { class: 'notice success' }, t(wanted ? 'insights.viewing.turnedOn' : 'insights.viewing.turnedOff')));
        document.getElementById(switchId).focus();
      } catch (err) {
        toggle.checked = !wanted;
        toggle.disabled = false;
        if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
      }
    });
    const table = channels.length
      ? h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': 'viewing-table-caption' },
        h('table', { class: 'table chart-numbers', 'data-testid': 'viewing-table' },
          h('caption', { id: 'viewing-table-caption' }, t('insights.viewing.tableCaption', { start: date(answer.start), end: date(answer.end) })),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('insights.viewing.channel')),
            h('th', { scope: 'col', class: 'amount' }, t('insights.viewing.watched')),
            h('th', { scope: 'col', class: 'amount' }, t('insights.viewing.days')))),
          h('tbody', {}, channels.map((c) => h('tr', { 'data-testid': 'viewing-channel' },
            h('th', { scope: 'row' }, c.name || c.channel),
            h('td', { class: 'amount' }, minutesText(c.minutes)),
            h('td', { class: 'amount' }, String(c.days ?? ''))))))
      )
      : h('p', { class: 'muted', 'data-testid': 'viewing-none' }, t('insights.viewing.none'));
    body.replaceChildren(
      h('p', {}, t('insights.viewing.what', { days: answer.retention_days ?? 90 })),
      h('div', { class: 'checkbox switch-row' }, toggle, h('label', { for: switchId }, t('insights.viewing.switch'))),
      h('p', { class: 'hint', id: explainId, 'data-testid': 'viewing-explained' },
        t(on ? 'insights.viewing.onExplained' : 'insights.viewing.offExplained')),
      problem,
      table);
  };
  if (initial) drawViewing(initial);
  else body.replaceChildren(failed(initialError, 'viewing-unavailable'));
  return card('viewing-title', t('insights.viewing.title'), 'insights-viewing', status, body);
}

// --- the page --------------------------------------------------------------------------------

const settle = (promise) => promise.then((value) => ({ value }), (error) => {
  if (error && error.handled) throw error;
  return { error };
});

export async function render(ctx) {
  const account = (ctx.session && ctx.session.account) || {};
  const [spending, budget, recs, viewing] = await Promise.all([
    settle(loadSpending(6)),
    settle(api.get(`${API}/budget`)),
    settle(loadRecommendations()),
    settle(api.get(`${API}/viewing`)),
  ]);
  return h('section', { class: 'page wide insights-page', 'data-testid': 'page-insights' },
    h('h1', {}, t('insights.title')),
    h('p', { class: 'intro' }, t('insights.intro')),
    spendingCard(spending.value, spending.error, account),
    h('div', { class: 'insights-grid' },
      budgetCard(budget.value, budget.error, account),
      recommendationsCard(recs.value || [], recs.error)),
    viewingCard(viewing.value, viewing.error));
}
