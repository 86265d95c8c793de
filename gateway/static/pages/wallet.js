// The Wallet tab (prepaid accounts): the balance, the low-balance warning and its threshold,
// topping up by card or by voucher, and the full ledger with the balance after each entry.
//
// A top-up is one attempt with its own Idempotency-Key. When its outcome is unknown (the network
// failed, or the payment provider did not answer: 503), "Try again" sends the same request with
// the same key, so the card is charged at most once; any other answer ends the attempt.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, setMessage, clearErrors, value,
  showNestedError as showError, resultRegion, pagedRows, onLoadMore, latestReload,
} from '../dom.js';
import { money, isMoney, parseAmount, amountInput, dateTime, fractionDigits } from '../format.js';
import { lineText } from '../line-text.js';
import { listCards } from '../payment-methods.js';
import {
  cardOptions, preferredCard, isUnknownOutcome, showDecline, offerTryAgain,
} from '../card-payment.js';
import { redeemForm, redeemedNotice } from './vouchers.js';

const MIN_TOP_UP = 100; // 1.00 in a two-decimal currency (minor units), as the API accepts
const MAX_TOP_UP = 100000; // 1,000.00
const PAGE_SIZE = 20;

function minor(amount, currency) {
  return { amount, currency };
}

/** The problem with a typed amount, or null; `amount` is filled in minor units when fine. */
function amountProblem(text, currency, { min, max } = {}) {
  if (!String(text).trim()) return { problem: t('validation.required') };
  const parsed = parseAmount(text, currency);
  if (parsed.error) {
    return {
      problem: t('wallet.amountFormat', {
        example: amountInput(minor(20 * 10 ** fractionDigits(currency), currency)),
        digits: fractionDigits(currency),
      }),
    };
  }
  if ((min != null && parsed.amount < min) || (max != null && parsed.amount > max)) {
    return { problem: t('wallet.amountRange', { min: money(minor(min, currency)), max: money(minor(max, currency)) }) };
  }
  return { amount: parsed.amount };
}

function signed(entry) {
  const amount = entry.amount;
  if (!isMoney(amount)) return '';
  const text = money({ ...amount, amount: Math.abs(amount.amount) });
  return entry.direction === 'debit' ? `−${text}` : `+${text}`;
}

function typeText(type) {
  return has(`transactionType.${type}`) ? t(`transactionType.${type}`) : String(type || '');
}

// --- the balance and the low-balance warning -----------------------------------------------------

function balanceCard(state) {
  const figure = h('p', { class: 'figure big', 'data-testid': 'wallet-balance' });
  const warning = h('div', { class: 'warning-slot' });
  const draw = () => {
    const wallet = state.wallet;
    figure.textContent = isMoney(wallet.balance) ? money(wallet.balance) : '–';
    const low = wallet.low_balance
      ? h('p', { class: 'notice warning', 'data-testid': 'wallet-low-balance' },
        isMoney(wallet.low_balance_threshold) && wallet.low_balance_threshold.amount > 0
          ? t('wallet.lowBalance', { threshold: money(wallet.low_balance_threshold) })
          : t('wallet.lowBalanceEmpty'))
      : null;
    warning.replaceChildren(...(low ? [low] : []));
  };
  state.onWallet.push(draw);
  draw();
  return h('section', { class: 'card balance-card', 'aria-labelledby': 'balance-title' },
    h('h2', { id: 'balance-title' }, t('wallet.balanceTitle')),
    figure,
    warning);
}

// The low-balance warning's setting: after the top-up (the main action comes first on a phone).
function thresholdCard(state) {
  return h('section', { class: 'card threshold-card', 'aria-labelledby': 'threshold-title' }, thresholdForm(state));
}

function thresholdForm(state) {
  const F = 'threshold';
  const currency = state.currency;
  const form = h('form', { class: 'form threshold-form', 'data-testid': 'threshold-form', novalidate: true, 'aria-labelledby': 'threshold-title' },
    h('h2', { id: 'threshold-title' }, t('wallet.thresholdTitle')),
    formMessage(),
    h('div', { class: 'inline-fields' },
      field({
        form: F,
        name: 'low_balance_threshold',
        label: t('wallet.threshold', { currency }),
        hint: t('wallet.thresholdHint'),
        value: amountInput(state.wallet.low_balance_threshold),
        attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'threshold-amount' },
      }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'threshold-submit' }, t('wallet.thresholdSave')))));
  onSubmit(form, async () => {
    const checked = amountProblem(value(form, 'low_balance_threshold'), currency, { min: 0 });
    if (showProblems(form, checked.problem ? { low_balance_threshold: checked.problem } : {})) return;
    try {
      const wallet = await api.patch('/api/v1/wallet', { low_balance_threshold: minor(checked.amount, currency) });
      state.setWallet(wallet);
      clearErrors(form);
      form.querySelector('input').value = amountInput(wallet.low_balance_threshold);
      setMessage(form, 'success', wallet.low_balance_threshold.amount > 0
        ? t('wallet.thresholdSaved', { amount: money(wallet.low_balance_threshold) })
        : t('wallet.thresholdOff'));
    } catch (err) {
      showError(form, err);
    }
  });
  return form;
}

// --- topping up ----------------------------------------------------------------------------------

function declineText(err) {
  const code = err.declineCode;
  if (code === 'insufficient_funds' || code === 'expired_card') return t(`decline.${code}`);
  return t('decline.generic'); // card_declined, stolen_card and anything else: no more detail
}

function noCardsNotice() {
  return h('div', { class: 'notice', 'data-testid': 'top-up-no-cards' },
    h('p', {}, t('wallet.noCards')),
    h('a', { href: '#/settings/cards', class: 'button primary', 'data-testid': 'top-up-add-card' }, t('wallet.addCardLink')));
}

function topUpCard(state) {
  const F = 'top-up';
  const currency = state.currency;
  const result = resultRegion('top-up-result');
  const cards = state.cards;
  const form = h('form', { class: 'form', 'data-testid': 'top-up-form', novalidate: true, 'aria-labelledby': 'top-up-title' },
    formMessage(),
    field({
      form: F,
      name: 'amount',
      value: state.suggested ? amountInput(minor(state.suggested, currency)) : '',
      label: t('wallet.amount', { currency }),
      hint: t('wallet.amountHint', { min: money(minor(MIN_TOP_UP, currency)), max: money(minor(MAX_TOP_UP, currency)) }),
      attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'top-up-amount' },
    }),
    cards.length
      ? field({
        form: F,
        name: 'payment_method_id',
        label: t('wallet.card'),
        value: preferredCard(cards),
        options: cardOptions(cards, 'wallet'),
        attrs: { 'data-testid': 'top-up-card' },
      })
      : noCardsNotice(),
    cards.length ? h('p', { class: 'manage-cards' }, h('a', { href: '#/settings/cards', 'data-testid': 'manage-cards' }, t('wallet.manageCards'))) : null,
    cards.length
      ? h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'top-up-submit' }, t('wallet.submit')))
      : null);

  const send = api.idempotentSender();
  let lastBody = null; // the attempt whose outcome is unknown ("Try again" sends it again)

  const attempt = async (body) => {
    form.removeAttribute('data-outcome');
    clearErrors(form);
    result.replaceChildren();
    let answer;
    try {
      answer = await send('POST', '/api/v1/wallet/top-ups', body);
    } catch (err) {
      if (err && err.handled) return;
      const unknown = isUnknownOutcome(err);
      lastBody = unknown ? body : null;
      if (err && err.code === 'PAYMENT_DECLINED') {
        showDecline(form, err, declineText(err));
        const select = form.querySelector('select');
        if (select) select.focus();
        return;
      }
      showError(form, err);
      form.setAttribute('data-outcome', unknown ? 'unknown' : 'failed');
      if (unknown) {
        offerTryAgain(form, err, {
          testid: 'top-up-retry',
          label: t('wallet.retry'),
          unknownText: t('wallet.outcomeUnknown'),
          retry: async () => {
            if (lastBody) await attempt(lastBody);
          },
        });
      }
      return;
    }
    lastBody = null;
    form.setAttribute('data-outcome', 'succeeded');
    form.querySelector('[data-field="amount"]').value = '';
    setMessage(form, '', '');
    const wallet = answer && answer.wallet;
    if (wallet) state.setWallet(wallet);
    const credited = answer && answer.transaction && answer.transaction.amount;
    const reinstated = Array.isArray(answer && answer.reinstated) ? answer.reinstated : [];
    result.replaceChildren(h('div', { class: 'notice success' },
      h('p', { class: 'strong' }, t('wallet.success', { amount: money(isMoney(credited) ? credited : body.amount) })),
      wallet && isMoney(wallet.balance) ? h('p', { 'data-testid': 'top-up-new-balance' }, t('wallet.newBalance', { balance: money(wallet.balance) })) : null,
      reinstated.length ? h('p', { 'data-testid': 'top-up-reinstated' }, t('wallet.reinstated', { count: reinstated.length })) : null));
    result.focus();
    // Not awaited: the form is free for the next top-up while the history reloads.
    state.reloadHistory(answer && answer.transaction && answer.transaction.id);
  };

  onSubmit(form, async () => {
    form.removeAttribute('data-outcome');
    result.replaceChildren();
    const checked = amountProblem(value(form, 'amount'), currency, { min: MIN_TOP_UP, max: MAX_TOP_UP });
    const problems = checked.problem ? { amount: checked.problem } : {};
    const method = value(form, 'payment_method_id');
    if (!method) problems.payment_method_id = t('validation.required');
    if (showProblems(form, problems)) return;
    await attempt({ amount: minor(checked.amount, currency), payment_method_id: method });
  });

  return h('section', { class: 'card top-up-card', 'aria-labelledby': 'top-up-title' },
    h('h2', { id: 'top-up-title' }, t('wallet.topUpTitle')),
    form,
    result);
}

// --- topping up by voucher ----------------------------------------------------------------------

// The same form as the Vouchers tab's; here it is a top-up (POST /wallet/top-ups, voucher_code).
// A voucher is credited once whatever happens; the top-up route still requires an
// Idempotency-Key (every top-up does), kept while the outcome is unknown. Sending a code again
// with a new key answers "already redeemed", and the history shows whether it was this account.
function voucherCard(state) {
  const send = api.idempotentSender();
  const titleId = 'voucher-top-up-title';
  const result = resultRegion('voucher-top-up-result');
  const form = redeemForm({
    id: 'voucher-top-up',
    testid: 'voucher-top-up-form',
    labelledBy: titleId,
    submitLabel: t('wallet.voucherSubmit'),
    send: (code) => send('POST', '/api/v1/wallet/top-ups', { voucher_code: code }),
    onRedeemed(answer) {
      if (answer && answer.wallet) state.setWallet(answer.wallet);
      result.replaceChildren(redeemedNotice(answer, { testid: 'voucher-top-up-success' }));
      result.focus();
      state.reloadHistory(answer && answer.transaction && answer.transaction.id); // not awaited
    },
  });
  form.addEventListener('submit', () => result.replaceChildren());
  return h('section', { class: 'card voucher-top-up-card', 'aria-labelledby': titleId, 'data-testid': 'voucher-top-up' },
    h('h2', { id: titleId }, t('wallet.voucherTitle')),
    form,
    result,
    h('p', { class: 'manage-cards' }, h('a', { href: '#/vouchers', 'data-testid': 'voucher-top-up-buy' }, t('wallet.voucherBuy'))));
}

// --- the history ---------------------------------------------------------------------------------

function entryRow(entry, highlighted) {
  return h('tr', {
    'data-testid': 'wallet-entry',
    'data-direction': entry.direction || '',
    'data-type': entry.type || '',
    'data-transaction-id': entry.id || '',
    class: highlighted ? 'is-new' : null,
    'data-new': highlighted ? 'true' : null,
  },
  h('td', { 'data-label': t('wallet.date'), class: 'when' },
    h('time', { datetime: entry.created_at || '' }, dateTime(entry.created_at))),
  h('th', { scope: 'row', 'data-label': t('wallet.description'), class: 'what', 'data-testid': 'wallet-entry-description' },
    lineText(entry) || typeText(entry.type),
    highlighted ? h('span', { class: 'badge badge-new' }, t('wallet.newEntry')) : null),
  h('td', { 'data-label': t('wallet.type') }, typeText(entry.type)),
  h('td', { 'data-label': t('wallet.amountColumn'), class: `amount ${entry.direction === 'debit' ? 'debit' : 'credit'}`, 'data-testid': 'wallet-entry-amount' },
    h('span', { class: 'visually-hidden' }, `${t(entry.direction === 'debit' ? 'wallet.debit' : 'wallet.credit')} `),
    signed(entry)),
  h('td', { 'data-label': t('wallet.balanceAfter'), class: 'amount', 'data-testid': 'wallet-entry-balance-after' },
    isMoney(entry.balance_after) ? money(entry.balance_after) : ''));
}

function historyCard(state, firstPage) {
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger', 'data-testid': 'wallet-history', 'aria-labelledby': 'history-title' },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('wallet.date')),
        h('th', { scope: 'col' }, t('wallet.description')),
        h('th', { scope: 'col' }, t('wallet.type')),
        h('th', { scope: 'col', class: 'amount' }, t('wallet.amountColumn')),
        h('th', { scope: 'col', class: 'amount' }, t('wallet.balanceAfter')))),
    body);
  const empty = h('p', { class: 'muted', 'data-testid': 'wallet-history-empty' }, t('wallet.historyEmpty'));
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'wallet-history-error' });
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'wallet-load-more' }, t('wallet.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'ledger-wrap' });
  const { draw, cursor } = pagedRows({
    body, table, empty: () => empty, wrap, more, moreSlot, row: entryRow,
  });
  // Keep the keyboard where it was; when the button has gone, go to the first new line.
  onLoadMore(more, problem, cursor, async (at) => draw(
    await api.get(`/api/v1/wallet/transactions?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(at)}`), { append: true }));
  state.reloadHistory = latestReload(problem, t('wallet.historyFailed'),
    () => api.get(`/api/v1/wallet/transactions?limit=${PAGE_SIZE}`),
    (page, highlight) => draw(page, { highlight }));

  draw(firstPage);
  return h('section', { class: 'card history-card', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, t('wallet.historyTitle')),
    problem,
    wrap,
    moreSlot);
}

// --- the page ------------------------------------------------------------------------------------

export async function render(ctx) {
  // A household member using the holder's shared wallet may see its balance and top it up with
  // a voucher; the history, the cards and the warning's setting stay the holder's.
  const acting = Boolean(ctx.session.account && ctx.session.account.acting);
  const [wallet, firstPage, cards] = await Promise.all([
    api.get('/api/v1/wallet'),
    acting ? null : api.get(`/api/v1/wallet/transactions?limit=${PAGE_SIZE}`),
    acting ? [] : listCards(),
  ]);
  const [suggested] = ctx.params || []; // #/wallet/top-up/1895: what the dashboard says is missing
  const state = {
    wallet,
    cards,
    suggested: suggested ? Math.min(Math.max(Number(suggested), MIN_TOP_UP), MAX_TOP_UP) : null,
    currency: wallet.currency || (wallet.balance && wallet.balance.currency) || (ctx.session.account && ctx.session.account.currency),
    onWallet: [],
    setWallet(next) {
      state.wallet = next;
      state.onWallet.forEach((draw) => draw());
    },
    reloadHistory: async () => {},
  };
  if (acting) {
    return h('section', { class: 'page wide', 'data-testid': 'page-wallet' },
      h('h1', {}, t('wallet.title')),
      h('p', { class: 'intro', 'data-testid': 'wallet-shared' }, t('wallet.sharedByHolder', { holder: ctx.session.account.acting.holder_name })),
      h('div', { class: 'wallet-grid' },
        balanceCard(state),
        h('div', { class: 'wallet-actions' }, voucherCard(state))));
  }
  return h('section', { class: 'page wide', 'data-testid': 'page-wallet' },
    h('h1', {}, t('wallet.title')),
    h('div', { class: 'wallet-grid' },
      balanceCard(state),
      h('div', { class: 'wallet-actions' },
        topUpCard(state),
        voucherCard(state),
        thresholdCard(state))),
    historyCard(state, firstPage));
}
