// The Vouchers tab. Everyone sees the online vouchers on sale and can buy one by card; prepaid
// accounts also redeem codes into their wallet here and see the vouchers they redeemed.
// Postpaid accounts are told why they cannot redeem (vouchers top up a prepaid wallet).
//
// Buying is one attempt with its own Idempotency-Key (api.idempotentSender), as paying a bill
// is: when the outcome is unknown (the network failed, or the provider did not answer: 5xx),
// "Try again" sends the same request with the same key, so the card is charged at most once and
// the same voucher comes back; any other answer ends the attempt. The bought code is shown once:
// it is kept in memory only while the customer stays on this page (a redraw of the page keeps
// it; leaving the page, reloading or "hide it" forgets it), never in storage.
//
// The redeem form is shared with the Wallet tab (top up by voucher): a typo is caught here by the
// code's check symbol before anything is sent, so it does not count as a wrong guess against the
// account's throttle; the server checks again and answers every other problem with its own code.
import * as api from '../api.js';
import { t } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, setMessage, clearErrors, errorText, value,
  resultRegion, pagedRows, onLoadMore, latestReload,
} from '../dom.js';
import { money, isMoney, date, dateTime, locale } from '../format.js';
import { cardLabel, listCards, cardForm, saveCardFrom } from '../payment-methods.js';
import {
  cardOptions, preferredCard, refreshCardSelect, isUnknownOutcome, showDecline, offerTryAgain,
  newCardPanel,
} from '../card-payment.js';
import { declineReason } from './bills.js';

const PAGE_SIZE = 20;
const receiptPath = (id) => `/api/v1/payments/${encodeURIComponent(id)}/receipt`;
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);

// --- codes -------------------------------------------------------------------------------------

// Crockford's base32, as services/vouchers/codes.py: 13 random symbols and a check symbol
// (Luhn mod 32), shown as XXXX-XXXX-XXXX-XX. O reads as 0, I and L as 1.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 14;
const READS_AS = { O: '0', I: '1', L: '1' };

/** What the customer typed, as a bare code (may still be invalid). */
export function normalizeCode(text) {
  return String(text || '').toUpperCase().replace(/[\s-]/g, '').replace(/[OIL]/g, (ch) => READS_AS[ch]);
}

/** XXXX-XXXX-XXXX-XX */
function displayCode(code) {
  return code.match(/.{1,4}/g).join('-');
}

/** Length, alphabet and check symbol: true when the code can be a voucher code. */
export function isWellFormedCode(code) {
  if (code.length !== CODE_LENGTH) return false;
  let total = 0;
  let double = false;
  for (let i = code.length - 1; i >= 0; i -= 1) {
    const index = ALPHABET.indexOf(code[i]);
    if (index < 0) return false;
    const addend = index * (double ? 2 : 1);
    total += Math.floor(addend / ALPHABET.length) + (addend % ALPHABET.length);
    double = !double;
  }
  return total % ALPHABET.length === 0;
}

const REDEEM_ERRORS = [
  'VOUCHER_CODE_INVALID', 'VOUCHER_NOT_FOUND', 'VOUCHER_ALREADY_REDEEMED', 'VOUCHER_EXPIRED',
  'VOUCHER_VOIDED', 'VOUCHER_NOT_YET_VALID', 'VOUCHER_CURRENCY_MISMATCH', 'VOUCHER_NOT_ALLOWED',
  'NOT_PREPAID',
];

/** When the customer may try again after too many wrong codes, in words. */
function throttledText(seconds) {
  if (seconds == null) return t('vouchers.errors.TOO_MANY_ATTEMPTS_LATER');
  if (seconds <= 90) return t('vouchers.errors.TOO_MANY_ATTEMPTS_SECONDS', { seconds: Math.max(1, seconds) });
  const at = new Date(Date.now() + seconds * 1000);
  const time = new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' }).format(at);
  return t('vouchers.errors.TOO_MANY_ATTEMPTS', { time, minutes: Math.ceil(seconds / 60) });
}

/** Why a code was refused, in the customer's language. */
export function redeemErrorText(err) {
  if (err && err.code === 'TOO_MANY_ATTEMPTS') return throttledText(err.retryAfter);
  if (err && REDEEM_ERRORS.includes(err.code)) return t(`vouchers.errors.${err.code}`);
  return errorText(err);
}

/**
 * The redeem form (Vouchers tab, and "top up by voucher" in the Wallet tab): a code input and a
 * submit. `send(code)` makes the request and returns the answer ({redemption, transaction,
 * wallet, reinstated}); `onRedeemed(answer)` shows it (at once: the form is free again after). Refusals are shown on the form; after
 * "too many attempts" the submit stays disabled until the server's Retry-After has passed.
 */
export function redeemForm({ id, testid, labelledBy, submitLabel, send, onRedeemed }) {
  const form = h('form', { class: 'form redeem-form', 'data-testid': testid, novalidate: true, 'aria-labelledby': labelledBy },
    formMessage(),
    field({
      form: id,
      name: 'code',
      label: t('vouchers.code'),
      hint: t('vouchers.codeHint'),
      attrs: {
        class: 'code-input serial',
        autocomplete: 'off',
        autocapitalize: 'characters',
        autocorrect: 'off',
        spellcheck: 'false',
        maxlength: '40',
        'data-testid': `${testid}-code`,
      },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': `${testid}-submit` }, submitLabel)));
  const input = form.querySelector('[data-field="code"]');
  const submit = form.querySelector('button[type="submit"]');
  let blockedUntil = 0;

  onSubmit(form, async () => {
    form.removeAttribute('data-outcome');
    form.removeAttribute('data-error');
    if (Date.now() < blockedUntil) return;
    const code = normalizeCode(value(form, 'code'));
    const problem = !code ? t('validation.required')
      : !isWellFormedCode(code) ? t('vouchers.errors.VOUCHER_CODE_INVALID') : null;
    if (showProblems(form, problem ? { code: problem } : {})) {
      form.setAttribute('data-outcome', 'invalid');
      return;
    }
    clearErrors(form);
    let answer;
    try {
      answer = await send(displayCode(code)); // as printed, whatever way it was typed
    } catch (err) {
      if (err && err.handled) return;
      setMessage(form, 'error', redeemErrorText(err));
      form.setAttribute('data-outcome', 'failed');
      form.setAttribute('data-error', (err && err.code) || '');
      if (err && err.code === 'TOO_MANY_ATTEMPTS') {
        const wait = (err.retryAfter == null ? 60 : err.retryAfter) * 1000;
        blockedUntil = Date.now() + wait;
        submit.disabled = true;
        setTimeout(() => {
          submit.disabled = false;
        }, Math.min(wait, 2 ** 31 - 1));
      } else {
        input.focus();
        input.select();
      }
      return;
    }
    form.setAttribute('data-outcome', 'succeeded');
    input.value = '';
    setMessage(form, '', '');
    onRedeemed(answer);
  });
  return form;
}

/** What a successful redemption did to the wallet, as a success notice. */
export function redeemedNotice(answer, { testid, walletLink = false } = {}) {
  const credited = (answer && answer.transaction && answer.transaction.amount)
    || (answer && answer.redemption && answer.redemption.value);
  const wallet = answer && answer.wallet;
  const serial = answer && answer.redemption && answer.redemption.serial;
  const reinstated = Array.isArray(answer && answer.reinstated) ? answer.reinstated : [];
  return h('div', { class: 'notice success', 'data-testid': testid },
    h('p', { class: 'strong' }, t('vouchers.redeemed', { amount: money(credited) })),
    serial ? h('p', {}, t('vouchers.redeemedSerial', { serial })) : null,
    wallet && isMoney(wallet.balance)
      ? h('p', { 'data-testid': `${testid}-balance` }, t('vouchers.newBalance', { balance: money(wallet.balance) })) : null,
    reinstated.length ? h('p', { 'data-testid': `${testid}-reinstated` }, t('vouchers.reinstated')) : null,
    walletLink ? h('p', {}, h('a', { href: '#/wallet', 'data-testid': `${testid}-wallet` }, t('vouchers.openWallet'))) : null);
}

// --- redeeming (prepaid) -----------------------------------------------------------------------

function redeemCard(state) {
  const titleId = 'redeem-title';
  const section = h('section', { class: 'card redeem-card', 'aria-labelledby': titleId, 'data-testid': 'voucher-redeem' },
    h('h2', { id: titleId }, t('vouchers.redeemTitle')));
  if (!state.prepaid) {
    section.append(h('div', { class: 'notice', 'data-testid': 'redeem-not-prepaid' },
      h('p', { class: 'strong' }, t('vouchers.notPrepaid')),
      h('p', {}, t('vouchers.notPrepaidBuy'))));
    return section;
  }
  const result = resultRegion('redeem-result');
  const form = redeemForm({
    id: 'redeem',
    testid: 'redeem-form',
    labelledBy: titleId,
    submitLabel: t('vouchers.redeem'),
    send: (code) => api.post('/api/v1/vouchers/redeem', { code }),
    onRedeemed(answer) {
      result.replaceChildren(redeemedNotice(answer, { testid: 'redeem-success', walletLink: true }));
      result.focus();
      // Not awaited: the form is free for the next code while the history reloads.
      state.reloadHistory(answer && answer.redemption && answer.redemption.id);
    },
  });
  form.addEventListener('submit', () => result.replaceChildren());
  state.fillRedeem = (code) => {
    const input = form.querySelector('[data-field="code"]');
    input.value = code;
    section.scrollIntoView({ block: 'start', behavior: 'auto' });
    input.focus({ preventScroll: true });
  };
  section.append(h('p', { class: 'intro' }, t('vouchers.redeemIntro')), form, result);
  return section;
}

function historyCard(state, firstPage, loadError) {
  const titleId = 'redemptions-title';
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger', 'data-testid': 'redemption-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('vouchers.date')),
        h('th', { scope: 'col' }, t('vouchers.serial')),
        h('th', { scope: 'col', class: 'amount' }, t('vouchers.value')))),
    body);
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'redemptions-error' });
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'redemptions-load-more' }, t('vouchers.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'table-wrap' });

  const row = (item, highlighted) => h('tr', {
    'data-testid': 'redemption-row',
    'data-redemption-id': item.id || '',
    'data-serial': item.serial || '',
    class: highlighted ? 'is-new' : null,
    'data-new': highlighted ? 'true' : null,
  },
  h('td', { 'data-label': t('vouchers.date'), class: 'when' },
    h('time', { datetime: item.created_at || '' }, dateTime(item.created_at))),
  h('th', { scope: 'row', 'data-label': t('vouchers.serial'), class: 'serial', 'data-testid': 'redemption-serial' },
    item.serial || '',
    highlighted ? h('span', { class: 'badge badge-new' }, t('vouchers.newEntry')) : null),
  h('td', { 'data-label': t('vouchers.value'), class: 'amount credit', 'data-testid': 'redemption-value' },
    isMoney(item.value) ? `+${money(item.value)}` : ''));

  const { draw, cursor } = pagedRows({
    body,
    table,
    empty: () => h('p', { class: 'muted', 'data-testid': 'redemptions-empty' }, t('vouchers.historyEmpty')),
    wrap,
    more,
    moreSlot,
    row,
  });
  onLoadMore(more, problem, cursor, async (at) => draw(
    await api.get(`/api/v1/vouchers/redemptions?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(at)}`), { append: true }));
  state.reloadHistory = latestReload(problem, t('vouchers.historyFailed'),
    () => api.get(`/api/v1/vouchers/redemptions?limit=${PAGE_SIZE}`),
    (page, highlight) => draw(page, { highlight }));

  if (loadError) problem.replaceChildren(h('p', {}, t('vouchers.historyFailed')), h('p', {}, errorText(loadError)));
  else draw(firstPage);
  return h('section', { class: 'card history-card', 'aria-labelledby': titleId, 'data-testid': 'voucher-history' },
    h('h2', { id: titleId }, t('vouchers.historyTitle')),
    problem,
    wrap,
    moreSlot);
}

// --- the code, shown once ----------------------------------------------------------------------

// The last bought voucher, while the customer stays on this page (see the top of the file).
let shownPurchase = null;
window.addEventListener('hashchange', () => {
  shownPurchase = null;
});

async function copyCode(code, codeElement) {
  try {
    await navigator.clipboard.writeText(code);
    return true;
  } catch {
    // no clipboard access: select the code so the customer can copy it
  }
  const range = document.createRange();
  range.selectNodeContents(codeElement);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

function purchasedPanel(state, purchase, { onHide }) {
  const titleId = 'purchased-title';
  const codeId = 'purchased-code';
  const payment = purchase.payment || {};
  const card = state.cards.find((pm) => pm.id === payment.payment_method_id);
  const paid = isMoney(payment.amount) ? money(payment.amount) : '';
  const codeElement = h('p', { class: 'voucher-code serial', id: codeId, 'data-testid': 'voucher-code' }, purchase.code);
  const copied = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'voucher-copy-status' });
  const copy = h('button', { type: 'button', class: 'button primary', 'data-testid': 'voucher-copy', 'aria-describedby': codeId }, t('vouchers.copy'));
  copy.addEventListener('click', async () => {
    copied.textContent = '';
    const ok = await copyCode(purchase.code, codeElement);
    copied.textContent = ok ? t('vouchers.copied') : t('vouchers.copyFailed');
  });
  const hide = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'voucher-hide' }, t('vouchers.hideCode'));
  hide.addEventListener('click', onHide);
  const redeemNow = state.prepaid
    ? h('button', { type: 'button', class: 'button secondary', 'data-testid': 'voucher-redeem-now' }, t('vouchers.redeemNow'))
    : null;
  if (redeemNow) redeemNow.addEventListener('click', () => state.fillRedeem(purchase.code));

  return h('section', { class: 'voucher-reveal', 'aria-labelledby': titleId, 'data-testid': 'voucher-purchased', 'data-serial': purchase.serial || '' },
    h('h3', { id: titleId, tabindex: '-1' }, t('vouchers.purchasedTitle')),
    h('p', { class: 'strong' }, card
      ? t('vouchers.purchasedWith', { value: money(purchase.value), price: paid, card: cardLabel(card) })
      : t('vouchers.purchased', { value: money(purchase.value), price: paid })),
    h('p', { class: 'code-label' }, t('vouchers.codeLabel')),
    codeElement,
    h('p', { class: 'notice warning strong', 'data-testid': 'voucher-shown-once' }, t('vouchers.shownOnce')),
    h('div', { class: 'actions' }, copy, redeemNow),
    copied,
    h('dl', { class: 'pairs' },
      h('div', {}, h('dt', {}, t('vouchers.serial')), h('dd', { class: 'serial', 'data-testid': 'voucher-serial' }, purchase.serial || '')),
      h('div', {}, h('dt', {}, t('vouchers.validUntil')), h('dd', { 'data-testid': 'voucher-valid-until' }, date(purchase.valid_until)))),
    payment.id
      ? h('p', {}, h('a', {
        href: receiptPath(payment.id), download: true, type: 'application/pdf', 'data-testid': 'voucher-receipt',
      }, t('vouchers.receipt')))
      : null,
    h('div', { class: 'actions' }, hide));
}

// --- buying ------------------------------------------------------------------------------------

function offerSaving(offer) {
  const { value: worth, price } = offer;
  if (!isMoney(worth) || !isMoney(price) || worth.currency !== price.currency || worth.amount <= price.amount) return null;
  return { amount: worth.amount - price.amount, currency: worth.currency };
}

function buyErrorText(err) {
  if (err && (err.code === 'VOUCHER_OFFER_NOT_FOUND' || err.code === 'VOUCHER_CURRENCY_MISMATCH')) {
    return t(`vouchers.buyErrors.${err.code}`);
  }
  return errorText(err);
}

/**
 * Paying for one offer: the saved cards and "Pay", and a new card that is saved and pays in
 * one submit. `onBought(purchase)` shows the code.
 */
function checkout(state, offer, { onBought, onCancel }) {
  const titleId = 'checkout-title';
  const newCardTitleId = 'checkout-new-card-title';
  const price = money(offer.price);
  const heading = h('h3', { id: titleId, tabindex: '-1' }, t('vouchers.checkoutTitle', { name: offer.name }));
  const section = h('section', { class: 'checkout', id: 'voucher-checkout', 'aria-labelledby': titleId, 'data-testid': 'voucher-checkout', 'data-offer': offer.code },
    heading,
    h('p', {}, t('vouchers.checkoutSummary', { price, value: money(offer.value) })));

  // One attempt at a time per form; its sender keeps the key while the outcome is unknown.
  const attempt = async (form, send, body, { newCard } = {}) => {
    form.removeAttribute('data-outcome');
    clearErrors(form);
    let purchase;
    try {
      purchase = await send('POST', '/api/v1/vouchers/purchases', body);
    } catch (err) {
      if (err && err.handled) return;
      if (err && err.code === 'PAYMENT_DECLINED') {
        const box = showDecline(form, err, declineReason(err.declineCode));
        if (newCard) box.append(h('p', {}, t('vouchers.newCardSavedAnyway', { card: cardLabel(newCard) })));
        if (form === payForm) {
          const other = h('button', { type: 'button', class: 'button primary', 'data-testid': 'checkout-use-new-card' }, t('vouchers.useNewCard'));
          other.addEventListener('click', () => newCardBox.open());
          box.append(h('div', { class: 'actions' }, other));
        }
        return;
      }
      const unknown = isUnknownOutcome(err);
      setMessage(form, 'error', buyErrorText(err));
      form.setAttribute('data-outcome', unknown ? 'unknown' : 'failed');
      if (unknown) {
        offerTryAgain(form, err, {
          testid: 'checkout-try-again',
          label: t('vouchers.tryAgain'),
          unknownText: t('vouchers.outcomeUnknown'),
          retry: () => attempt(form, send, body, { newCard }),
        });
      }
      return;
    }
    form.setAttribute('data-outcome', 'succeeded');
    await onBought(purchase);
  };

  const cancel = () => h('button', { type: 'button', class: 'button secondary', 'data-testid': 'checkout-cancel', on: { click: onCancel } }, t('vouchers.cancel'));

  // the saved cards
  const paySend = api.idempotentSender();
  const payForm = h('form', { class: 'form', 'data-testid': 'buy-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    field({
      form: 'buy',
      name: 'payment_method_id',
      label: t('vouchers.payWith'),
      value: preferredCard(state.cards),
      options: cardOptions(state.cards, 'vouchers'),
      attrs: { 'data-testid': 'buy-card' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'buy-submit' }, t('vouchers.payAmount', { amount: price })),
      cancel()));
  onSubmit(payForm, async () => {
    const method = payForm.querySelector('select').value;
    await attempt(payForm, paySend, method ? { offer: offer.code, payment_method_id: method } : { offer: offer.code });
  });

  // a new card that pays
  const newCardSend = api.idempotentSender();
  const newCardForm = cardForm({
    id: 'buy-card',
    testid: 'buy-new-card-form',
    labelledBy: newCardTitleId,
    submitLabel: t('vouchers.saveCardAndPay', { amount: price }),
    async onCard(details, form) {
      clearErrors(form);
      form.removeAttribute('data-outcome');
      const card = await saveCardFrom(form, details);
      if (!card) return;
      state.cards = [card, ...state.cards.filter((pm) => pm.id !== card.id)];
      refreshCardSelect(payForm.querySelector('select'), state.cards, 'vouchers');
      await attempt(form, newCardSend, { offer: offer.code, payment_method_id: card.id }, { newCard: card });
    },
  });
  const newCardBox = newCardPanel({
    id: 'buy-new-card',
    toggleTestid: 'buy-new-card-toggle',
    toggleLabel: t('vouchers.payWithNewCard'),
    titleTag: 'h4',
    titleId: newCardTitleId,
    title: t('vouchers.newCardTitle'),
    hint: t('vouchers.newCardHint'),
    form: newCardForm,
  });

  if (state.cards.length) {
    section.append(payForm, h('div', { class: 'actions new-card-toggle' }, newCardBox.toggle), newCardBox.panel);
  } else {
    // No saved card: the new-card form is the way to pay.
    newCardBox.setOpen(true);
    section.append(h('p', { 'data-testid': 'buy-no-cards' }, t('vouchers.noCards')), newCardBox.panel,
      h('div', { class: 'actions' }, cancel()));
  }
  return section;
}

function offerItem(offer, onBuy) {
  const saving = offerSaving(offer);
  const buy = h('button', {
    type: 'button',
    class: 'button primary',
    'data-testid': 'offer-buy',
    'aria-label': t('vouchers.buyLabel', { name: offer.name, price: money(offer.price) }),
    'aria-expanded': 'false',
    'aria-controls': 'voucher-checkout',
  }, t('vouchers.buy'));
  buy.addEventListener('click', () => onBuy(offer, buy));
  return h('li', { class: 'offer', 'data-testid': 'voucher-offer', 'data-offer': offer.code },
    h('h3', { class: 'offer-name' }, offer.name),
    h('p', { class: 'price', 'data-testid': 'offer-price' }, money(offer.price)),
    h('p', { 'data-testid': 'offer-value' }, t('vouchers.offerValue', { amount: money(offer.value) })),
    saving ? h('p', { class: 'credit strong', 'data-testid': 'offer-saving' }, t('vouchers.offerSaving', { amount: money(saving) })) : null,
    Number.isInteger(offer.valid_days)
      ? h('p', { class: 'muted' }, t('vouchers.offerValidity', { days: offer.valid_days })) : null,
    h('div', { class: 'actions' }, buy));
}

function buyCard(state, offers, loadError) {
  const titleId = 'buy-title';
  const checkoutSlot = h('div', { class: 'checkout-slot' });
  const result = resultRegion('purchase-result');
  const section = h('section', { class: 'card buy-card', 'aria-labelledby': titleId, 'data-testid': 'voucher-offers' },
    h('h2', { id: titleId }, t('vouchers.buyTitle')),
    h('p', { class: 'intro' }, t('vouchers.buyIntro')));

  let openButton = null;
  const closeCheckout = ({ focus = true } = {}) => {
    checkoutSlot.replaceChildren();
    if (openButton) {
      openButton.setAttribute('aria-expanded', 'false');
      if (focus) openButton.focus();
    }
    openButton = null;
  };
  const showPurchase = (purchase, { focus = true } = {}) => {
    const panel = purchasedPanel(state, purchase, {
      onHide() {
        shownPurchase = null;
        result.replaceChildren();
        const first = section.querySelector('[data-testid="offer-buy"]');
        if (first) first.focus();
      },
    });
    result.replaceChildren(panel);
    if (focus) {
      panel.scrollIntoView({ block: 'start', behavior: 'auto' });
      panel.querySelector('h3').focus({ preventScroll: true });
    }
  };
  const onBuy = (offer, button) => {
    closeCheckout({ focus: false });
    openButton = button;
    button.setAttribute('aria-expanded', 'true');
    const panel = checkout(state, offer, {
      onBought(purchase) {
        shownPurchase = purchase;
        closeCheckout({ focus: false });
        showPurchase(purchase);
      },
      onCancel: () => closeCheckout(),
    });
    checkoutSlot.replaceChildren(panel);
    panel.scrollIntoView({ block: 'nearest', behavior: 'auto' });
    panel.querySelector('h3').focus({ preventScroll: true });
  };

  const onSale = offers.filter((offer) => offer.active !== false);
  if (loadError) {
    section.append(h('div', { class: 'action-error', role: 'alert', 'data-testid': 'offers-error' },
      h('p', {}, t('vouchers.offersFailed')), h('p', {}, errorText(loadError))));
  } else if (!onSale.length) {
    section.append(h('p', { class: 'muted', 'data-testid': 'offers-empty' }, t('vouchers.offersEmpty')));
  } else {
    section.append(h('ul', { class: 'offer-list', 'aria-labelledby': titleId }, onSale.map((offer) => offerItem(offer, onBuy))));
  }
  section.append(checkoutSlot, result);
  if (shownPurchase) showPurchase(shownPurchase, { focus: false });
  return section;
}

// --- the page ----------------------------------------------------------------------------------

export async function render(ctx) {
  const prepaid = Boolean(ctx.session.account && ctx.session.account.billing_type === 'prepaid');
  const settled = await Promise.allSettled([
    api.get('/api/v1/vouchers/offers'),
    listCards(),
    prepaid ? api.get(`/api/v1/vouchers/redemptions?limit=${PAGE_SIZE}`) : Promise.resolve(null),
  ]);
  const handled = settled.find((r) => r.status === 'rejected' && r.reason && r.reason.handled);
  if (handled) throw handled.reason;
  const [offersR, cardsR, historyR] = settled;
  const state = {
    prepaid,
    cards: cardsR.status === 'fulfilled' ? cardsR.value : [],
    reloadHistory: async () => {},
    fillRedeem: () => {},
  };
  const history = prepaid
    ? historyCard(state, historyR.status === 'fulfilled' ? historyR.value : null,
      historyR.status === 'rejected' ? historyR.reason : null)
    : null;
  return h('section', { class: 'page wide', 'data-testid': 'page-vouchers' },
    h('h1', {}, t('vouchers.title')),
    h('p', { class: 'intro' }, t('vouchers.intro')),
    h('div', { class: 'vouchers-grid' },
      redeemCard(state),
      buyCard(state, offersR.status === 'fulfilled' ? dataOf(offersR.value) : [],
        offersR.status === 'rejected' ? offersR.reason : null)),
    history);
}
