// The Bills tab (postpaid accounts). `#/bills`: what is owed and how much is overdue, automatic
// payment, the invoices (paged) and the payment history with receipts. `#/bills/<invoice id>`:
// one invoice with its lines, totals, credit notes and PDF, and paying it by card.
//
// Paying is one attempt with its own Idempotency-Key (api.idempotentSender). When its outcome
// is unknown (the network failed, or the provider did not answer: 503), "Try again" sends the
// same request with the same key, so the bill is charged at most once; any other answer ends
// the attempt, and the next submit is a new one with a new key. A declined card offers "Update
// card and retry": a new card is saved, made the default and pays the bill in one submit.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, setMessage, clearErrors, errorText, showApiError, resultRegion,
  pagedRows, onLoadMore,
} from '../dom.js';
import { money, isMoney, date, dateTime, locale } from '../format.js';
import { lineText } from '../line-text.js';
import { cardLabel, isExpired, listCards, cardForm, makeDefaultCard, saveCardFrom } from '../payment-methods.js';
import {
  cardOptions, preferredCard, refreshCardSelect, isUnknownOutcome, showDecline, offerTryAgain,
  newCardPanel,
} from '../card-payment.js';

const BASE = '/api/v1/invoices';
const PAGE_SIZE = 20;
const PAYABLE = ['open', 'overdue'];
const INVOICE_STATUSES = ['open', 'paid', 'overdue', 'void'];
const PAYMENT_STATUSES = ['succeeded', 'failed', 'pending'];
const KNOWN_DECLINES = ['card_declined', 'insufficient_funds', 'expired_card'];
// why a payment failed, in a word: declines, and an attempt closed because the bill was paid
const KNOWN_FAILURES = [...KNOWN_DECLINES, 'invoice_not_payable'];

const invoicePath = (id, ...rest) => [BASE, encodeURIComponent(id), ...rest].join('/');
const invoiceHash = (id) => `#/bills/${encodeURIComponent(id)}`;
const receiptPath = (id) => `/api/v1/payments/${encodeURIComponent(id)}/receipt`;
const isPayable = (invoice) => PAYABLE.includes(invoice.status);
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);

// --- small pieces ------------------------------------------------------------------------------

function badge(kind, status, attrs = {}) {
  const known = (kind === 'invoice' ? INVOICE_STATUSES : PAYMENT_STATUSES).includes(status) ? status : 'unknown';
  const key = `bills.${kind}Status.${status}`;
  return h('span', { class: `badge status-${known}`, 'data-status': status, ...attrs }, has(key) ? t(key) : String(status || ''));
}

/** Why a card was declined, in the customer's language ("card_declined" and unknown codes: generic). */
export function declineReason(code) {
  return t(`bills.decline.${KNOWN_DECLINES.includes(code) ? code : 'generic'}`);
}

function declineShort(code) {
  return t(`bills.declineShort.${KNOWN_FAILURES.includes(code) ? code : 'generic'}`);
}

/** 19 → "19%" / "19 %". */
function percent(rate) {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) return '';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 2 }).format(rate / 100);
}

// Credits and discounts always read as money going back to the customer.
function lineAmount(line) {
  const amount = line.amount;
  if (!isMoney(amount)) return '';
  const back = line.kind === 'credit' || line.kind === 'discount';
  return money(amount, { negate: back && amount.amount > 0 });
}

function hasMoney(value) {
  return isMoney(value) && value.amount !== 0;
}

function errorRegion(testid) {
  return h('div', { class: 'action-error', 'data-testid': testid, role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
}

function fact(label, content, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, content));
}

function pdfLink(href, text, attrs = {}) {
  return h('a', { href, download: true, type: 'application/pdf', ...attrs }, text);
}

/**
 * Automatic collection of an unpaid invoice that did not work: why, when it is tried again,
 * and whether the services are suspended until it is paid. Null when there is nothing to say.
 */
function collectionProblem(invoice) {
  const c = invoice && invoice.collection;
  if (!c || !isPayable(invoice)) return null;
  const failed = c.state === 'retrying' || c.state === 'exhausted' || (Number.isInteger(c.failed_attempts) && c.failed_attempts > 0);
  if (!failed) return null;
  return {
    exhausted: c.state === 'exhausted',
    reason: c.last_decline_code ? declineShort(c.last_decline_code) : null,
    nextRetry: c.state !== 'exhausted' && c.next_retry_at ? c.next_retry_at : null,
  };
}

function collectionSentences(invoice, problem) {
  const lines = [];
  lines.push(problem.reason
    ? t('bills.collectionFailed', { number: invoice.number, reason: problem.reason })
    : t('bills.collectionFailedNoReason', { number: invoice.number }));
  if (problem.exhausted) lines.push(t('bills.collectionExhausted'));
  else if (problem.nextRetry) lines.push(t('bills.collectionRetry', { date: date(problem.nextRetry) }));
  return lines;
}

// --- the summary -------------------------------------------------------------------------------

/** What is owed, from the invoices themselves (when all of them are loaded). */
function summarise(invoices, currency) {
  const unpaid = invoices.filter(isPayable).sort((a, b) => String(a.due_date).localeCompare(String(b.due_date)));
  const next = unpaid[0];
  return {
    outstanding_total: { amount: unpaid.reduce((sum, i) => sum + (isMoney(i.amount_due) ? i.amount_due.amount : 0), 0), currency },
    overdue_count: unpaid.filter((i) => i.status === 'overdue').length,
    next_due: next ? { id: next.id, number: next.number, due_date: next.due_date, amount_due: next.amount_due } : null,
  };
}

function summaryCard(summary) {
  const titleId = 'bills-summary-title';
  const body = [];
  if (!summary) {
    body.push(h('p', { class: 'notice muted', 'data-testid': 'bills-summary-unavailable' }, t('bills.summaryUnavailable')));
  } else {
    const overdue = Number.isInteger(summary.overdue_count) ? summary.overdue_count : 0;
    const next = summary.next_due;
    body.push(
      h('p', { class: 'figure big', 'data-testid': 'bills-outstanding' }, isMoney(summary.outstanding_total) ? money(summary.outstanding_total) : '–'),
      h('p', { class: 'muted' }, t('bills.outstanding')),
      overdue
        ? h('p', { class: 'notice warning', 'data-testid': 'bills-overdue' }, t('bills.overdueCount', { count: overdue }))
        : h('p', { 'data-testid': 'bills-overdue' }, t('bills.noneOverdue')),
      next && next.id
        ? h('p', { 'data-testid': 'bills-next-due' },
          t('bills.nextDue', { date: date(next.due_date), amount: money(next.amount_due) }), ' ',
          h('a', { href: invoiceHash(next.id) }, t('bills.viewInvoice', { number: next.number || '' })))
        : null,
    );
  }
  return h('section', { class: 'card bills-summary', 'aria-labelledby': titleId, 'data-testid': 'bills-summary' },
    h('h2', { id: titleId }, t('bills.summaryTitle')),
    body);
}

/** Invoices whose automatic payment failed: why, and a way to pay them. */
function attentionList(invoices) {
  const items = invoices.map((invoice) => [invoice, collectionProblem(invoice)]).filter(([, problem]) => problem);
  if (!items.length) return null;
  return h('ul', { class: 'plain-list attention', 'data-testid': 'bills-attention' },
    items.map(([invoice, problem]) => h('li', {
      class: `notice ${problem.exhausted ? 'error' : 'warning'}`,
      'data-testid': 'collection-alert',
      'data-invoice-id': invoice.id,
    },
    collectionSentences(invoice, problem).map((line) => h('p', {}, line)),
    h('a', { href: invoiceHash(invoice.id), class: 'button primary' }, t('bills.updateCardAndPay', { number: invoice.number })))));
}

// --- automatic payment -------------------------------------------------------------------------

function autopayCard(state) {
  const F = 'autopay';
  const titleId = 'autopay-title';
  const section = h('section', { class: 'card autopay-card', 'aria-labelledby': titleId, 'data-testid': 'autopay' },
    h('h2', { id: titleId }, t('bills.autopayTitle')));
  if (state.autopayError) {
    section.append(h('div', { class: 'notice muted', 'data-testid': 'autopay-unavailable' },
      h('p', {}, t('bills.autopayUnavailable')),
      h('p', {}, errorText(state.autopayError))));
    return section;
  }
  const cards = state.cards;
  const defaultCard = cards.find((pm) => pm.is_default);
  const stateLine = h('p', { class: 'strong', 'data-testid': 'autopay-state' });
  const describe = (autopay) => {
    if (!autopay.enabled) return t('bills.autopayIsOff');
    const chosen = autopay.payment_method_id && cards.find((pm) => pm.id === autopay.payment_method_id);
    if (chosen) return t('bills.autopayIsOn', { card: cardLabel(chosen) });
    return defaultCard ? t('bills.autopayIsOnDefault', { card: cardLabel(defaultCard) }) : t('bills.autopayIsOnNoCard');
  };
  stateLine.textContent = describe(state.autopay);

  const checkboxId = `${F}-enabled`;
  const hintId = `${F}-hint`;
  const form = h('form', { class: 'form autopay-form', 'data-testid': 'autopay-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    h('div', { class: 'field' },
      h('div', { class: 'checkbox' },
        h('input', {
          type: 'checkbox', id: checkboxId, name: 'enabled', 'data-field': 'enabled', 'data-testid': 'autopay-enabled',
          checked: Boolean(state.autopay.enabled), 'aria-describedby': hintId,
        }),
        h('label', { for: checkboxId }, t('bills.autopayEnabled'))),
      h('p', { class: 'hint', id: hintId }, t('bills.autopayHint')),
      h('p', { class: 'field-error', id: `${checkboxId}-error`, 'data-error-for': 'enabled' })),
    cards.length
      ? field({
        form: F,
        name: 'payment_method_id',
        label: t('bills.autopayCard'),
        value: state.autopay.payment_method_id || '',
        options: [
          { value: '', label: defaultCard ? t('bills.autopayDefaultCard', { card: cardLabel(defaultCard) }) : t('bills.autopayDefaultCardNone') },
          ...cards.map((pm) => ({ value: pm.id, label: isExpired(pm) ? t('bills.expiredCard', { card: cardLabel(pm) }) : cardLabel(pm) })),
        ],
        attrs: { 'data-testid': 'autopay-card' },
      })
      : h('p', { class: 'notice', 'data-testid': 'autopay-no-cards' },
        t('bills.autopayNoCards'), ' ',
        h('a', { href: '#/settings/cards' }, t('bills.addCardInSettings'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'autopay-submit' }, t('bills.autopaySave'))));

  onSubmit(form, async () => {
    clearErrors(form);
    const select = form.querySelector('select[name="payment_method_id"]');
    const body = {
      enabled: form.querySelector(`#${checkboxId}`).checked,
      payment_method_id: (select && select.value) || null,
    };
    let answer;
    try {
      answer = await api.request('PUT', '/api/v1/autopay', { body });
    } catch (err) {
      showApiError(form, err);
      if (err && err.code === 'NO_PAYMENT_METHOD') {
        form.querySelector('[data-testid="form-message"]').append(
          h('p', {}, h('a', { href: '#/settings/cards' }, t('bills.addCardInSettings'))));
      }
      return;
    }
    state.autopay = answer && typeof answer.enabled === 'boolean' ? answer : body;
    stateLine.textContent = describe(state.autopay);
    setMessage(form, 'success', describe(state.autopay));
  });

  section.append(stateLine, form);
  return section;
}

// --- the invoice list --------------------------------------------------------------------------

function invoiceRow(invoice) {
  const number = invoice.number || invoice.id;
  return h('tr', { 'data-testid': 'invoice-row', 'data-invoice-id': invoice.id, 'data-status': invoice.status },
    h('th', { scope: 'row', 'data-label': t('bills.number') },
      h('a', { href: invoiceHash(invoice.id), class: 'serial', 'data-testid': 'invoice-link' }, number)),
    h('td', { 'data-label': t('bills.status') }, badge('invoice', invoice.status, { 'data-testid': 'invoice-row-status' })),
    h('td', { 'data-label': t('bills.issued'), class: 'when', 'data-testid': 'invoice-row-issued' }, date(invoice.issue_date)),
    h('td', { 'data-label': t('bills.due'), class: 'when', 'data-testid': 'invoice-row-due' }, date(invoice.due_date)),
    h('td', { 'data-label': t('bills.total'), class: 'amount', 'data-testid': 'invoice-row-total' }, money(invoice.total)),
    h('td', { 'data-label': t('bills.amountDue'), class: 'amount', 'data-testid': 'invoice-row-amount-due' }, money(invoice.amount_due)),
    h('td', { class: 'row-action' },
      isPayable(invoice)
        ? h('a', {
          href: invoiceHash(invoice.id),
          class: 'button primary small',
          'data-testid': 'invoice-row-pay',
          'aria-label': t('bills.payInvoiceLabel', { number, amount: money(invoice.amount_due) }),
        }, t('bills.pay'))
        : null));
}

function invoicesCard(state, firstPage) {
  const titleId = 'invoices-title';
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger bills-table', 'data-testid': 'invoice-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('bills.number')),
        h('th', { scope: 'col' }, t('bills.status')),
        h('th', { scope: 'col' }, t('bills.issued')),
        h('th', { scope: 'col' }, t('bills.due')),
        h('th', { scope: 'col', class: 'amount' }, t('bills.total')),
        h('th', { scope: 'col', class: 'amount' }, t('bills.amountDue')),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('bills.actions'))))),
    body);
  const empty = h('p', { class: 'muted', 'data-testid': 'invoices-empty' }, t('bills.noInvoices'));
  const problem = errorRegion('invoices-error');
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'invoices-load-more' }, t('bills.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'table-wrap' });
  const { draw, cursor: next } = pagedRows({
    body, table, empty: () => empty, wrap, more, moreSlot, row: (invoice) => invoiceRow(invoice),
  });

  more.addEventListener('click', async () => {
    const cursor = next();
    if (more.disabled || !cursor) return;
    more.disabled = true;
    more.setAttribute('aria-busy', 'true');
    problem.replaceChildren();
    try {
      const page = await api.get(`${BASE}?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}`);
      dataOf(page).forEach((invoice) => state.invoiceNumbers.set(invoice.id, invoice.number));
      const rows = draw(page, { append: true });
      // The button has gone: go on at the first new line.
      if (!next() && rows.length) rows[0].querySelector('a').focus();
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      more.disabled = false;
      more.removeAttribute('aria-busy');
    }
  });

  draw(firstPage);
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('bills.invoicesTitle')),
    problem,
    wrap,
    moreSlot);
}

// --- the payment history -----------------------------------------------------------------------

function paymentWhat(state, payment) {
  if (payment.purpose === 'invoice' && payment.invoice_id) {
    const number = state.invoiceNumbers.get(payment.invoice_id);
    return h('a', { href: invoiceHash(payment.invoice_id) }, number ? t('bills.paymentForInvoice', { number }) : t('bills.purpose.invoice'));
  }
  const key = `bills.purpose.${payment.purpose}`;
  return has(key) ? t(key) : String(payment.purpose || '');
}

function paymentRow(state, payment) {
  const card = state.cards.find((pm) => pm.id === payment.payment_method_id);
  const succeeded = payment.status === 'succeeded';
  return h('tr', { 'data-testid': 'payment-row', 'data-payment-id': payment.id, 'data-status': payment.status, 'data-invoice-id': payment.invoice_id || null },
    h('td', { 'data-label': t('bills.paymentDate'), class: 'when' },
      h('time', { datetime: payment.created_at || '' }, dateTime(payment.created_at))),
    h('th', { scope: 'row', 'data-label': t('bills.paymentWhat') },
      paymentWhat(state, payment),
      card ? h('span', { class: 'muted card-used' }, ` · ${cardLabel(card)}`) : null),
    h('td', { 'data-label': t('bills.status') },
      badge('payment', payment.status, { 'data-testid': 'payment-status' }),
      payment.status === 'failed' && payment.decline_code
        ? h('span', { class: 'decline-reason', 'data-testid': 'payment-decline' }, ` ${declineShort(payment.decline_code)}`)
        : null),
    h('td', { 'data-label': t('bills.amount'), class: 'amount', 'data-testid': 'payment-amount' }, money(payment.amount)),
    h('td', { 'data-label': t('bills.receipt'), class: 'receipt' },
      succeeded
        ? pdfLink(receiptPath(payment.id), t('bills.receiptLink'), {
          'data-testid': 'payment-receipt',
          'aria-label': t('bills.receiptLabel', { amount: money(payment.amount), date: dateTime(payment.created_at) }),
        })
        : null));
}

function paymentsCard(state, firstPage, loadError) {
  const titleId = 'payments-title';
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger bills-table', 'data-testid': 'payment-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('bills.paymentDate')),
        h('th', { scope: 'col' }, t('bills.paymentWhat')),
        h('th', { scope: 'col' }, t('bills.status')),
        h('th', { scope: 'col', class: 'amount' }, t('bills.amount')),
        h('th', { scope: 'col', class: 'receipt' }, t('bills.receipt')))),
    body);
  const problem = errorRegion('payments-error');
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'payments-load-more' }, t('bills.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'table-wrap' });
  const { draw, cursor } = pagedRows({
    body,
    table,
    empty: () => h('p', { class: 'muted', 'data-testid': 'payments-empty' }, t('bills.noPayments')),
    wrap,
    more,
    moreSlot,
    row: (payment) => paymentRow(state, payment),
  });
  onLoadMore(more, problem, cursor, async (at) => draw(
    await api.get(`/api/v1/payments?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(at)}`), { append: true }));

  if (loadError) {
    problem.replaceChildren(h('p', {}, t('bills.paymentsFailed')), h('p', {}, errorText(loadError)));
  } else {
    draw(firstPage);
  }
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('bills.paymentsTitle')),
    problem,
    wrap,
    moreSlot);
}

// --- one invoice -------------------------------------------------------------------------------

function linesTable(invoice) {
  const lines = Array.isArray(invoice.lines) ? invoice.lines : [];
  if (!lines.length) return h('p', { class: 'muted' }, t('bills.noLines'));
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'ledger bills-table lines-table', 'data-testid': 'invoice-lines', 'aria-labelledby': 'invoice-lines-title' },
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, t('bills.lineDescription')),
          h('th', { scope: 'col', class: 'amount' }, t('bills.taxRate')),
          h('th', { scope: 'col', class: 'amount' }, t('bills.lineTax')),
          h('th', { scope: 'col', class: 'amount' }, t('bills.lineAmount')))),
      h('tbody', {}, lines.map((line) => h('tr', { 'data-testid': 'invoice-line', 'data-kind': line.kind || '' },
        h('th', { scope: 'row', 'data-label': t('bills.lineDescription'), 'data-testid': 'invoice-line-description' }, lineText(line)),
        h('td', { 'data-label': t('bills.taxRate'), class: 'amount', 'data-testid': 'invoice-line-tax-rate' }, percent(line.tax_rate)),
        h('td', { 'data-label': t('bills.lineTax'), class: 'amount' }, money(line.tax)),
        h('td', { 'data-label': t('bills.lineAmount'), class: `amount${line.kind === 'discount' || line.kind === 'credit' ? ' credit' : ''}`, 'data-testid': 'invoice-line-amount' },
          lineAmount(line)))))));
}

function totalsTable(invoice) {
  const row = (label, content, testid, cls) => h('tr', { class: cls || null },
    h('th', { scope: 'row' }, label),
    h('td', { class: 'amount', 'data-testid': testid }, content));
  return h('table', { class: 'price-table totals', 'data-testid': 'invoice-totals' },
    h('caption', { class: 'visually-hidden' }, t('bills.totalsTitle')),
    h('tbody', {},
      row(t('bills.subtotal'), money(invoice.subtotal), 'invoice-subtotal'),
      hasMoney(invoice.discount) ? row(t('bills.discount'), money(invoice.discount, { negate: invoice.discount.amount > 0 }), 'invoice-discount') : null,
      row(t('bills.tax'), money(invoice.tax), 'invoice-tax'),
      row(t('bills.total'), money(invoice.total), 'invoice-total', 'total'),
      row(t('bills.amountPaid'), money(invoice.amount_paid), 'invoice-amount-paid'),
      hasMoney(invoice.amount_credited) ? row(t('bills.amountCredited'), money(invoice.amount_credited, { negate: invoice.amount_credited.amount > 0 }), 'invoice-amount-credited') : null,
      row(t('bills.amountDue'), money(invoice.amount_due), 'invoice-amount-due', 'total due')));
}

function creditNotes(invoice) {
  const notes = Array.isArray(invoice.credit_notes) ? invoice.credit_notes : [];
  if (!notes.length) return null;
  return h('section', { class: 'credit-notes', 'aria-labelledby': 'credit-notes-title', 'data-testid': 'credit-notes' },
    h('h3', { id: 'credit-notes-title' }, t('bills.creditNotesTitle')),
    h('ul', { class: 'plain-list' }, notes.map((note) => h('li', { 'data-testid': 'credit-note' },
      h('span', { class: 'strong serial' }, note.number || note.id || ''), ' · ',
      date(note.issue_date || note.created_at), ' · ',
      h('span', { class: 'credit' }, isMoney(note.amount) ? money(note.amount, { negate: note.amount.amount > 0 }) : ''),
      note.reason ? h('span', { class: 'muted' }, ` – ${note.reason}`) : null,
      note.applied_to === 'next_invoice' ? h('span', { class: 'muted' }, ` (${t('bills.creditNextInvoice')})`) : null))));
}

/**
 * Paying the invoice: the card select and "Pay", and the new-card form ("Update card and
 * retry") that saves a card, makes it the default and pays with it in one submit.
 */
function paySection(state, { onPaid }) {
  const titleId = 'pay-title';
  const newCardTitleId = 'pay-new-card-title';
  const amount = () => money(state.invoice.amount_due);
  const section = h('section', { class: 'card pay-card', 'aria-labelledby': titleId, 'data-testid': 'invoice-pay' },
    h('h2', { id: titleId }, t('bills.payTitle')));

  // One attempt at a time per form; its sender keeps the key while the outcome is unknown.
  const attempt = async (form, send, body, { newCard, defaultFailed } = {}) => {
    form.removeAttribute('data-outcome');
    clearErrors(form);
    let answer;
    try {
      answer = await send('POST', invoicePath(state.invoice.id, 'pay'), body);
    } catch (err) {
      if (err && err.handled) return;
      if (err && err.code === 'PAYMENT_DECLINED') {
        const box = showDecline(form, err, declineReason(err.declineCode));
        if (newCard) box.append(h('p', {}, t('bills.newCardSavedAnyway', { card: cardLabel(newCard) })));
        if (form === payForm) {
          const retry = h('button', { type: 'button', class: 'button primary', 'data-testid': 'update-card-retry' }, t('bills.updateCardAndRetry'));
          retry.addEventListener('click', () => newCardBox.open());
          box.append(h('div', { class: 'actions' }, retry));
        }
        return;
      }
      const unknown = isUnknownOutcome(err);
      showApiError(form, err);
      form.setAttribute('data-outcome', unknown ? 'unknown' : 'failed');
      if (unknown) {
        offerTryAgain(form, err, {
          testid: 'pay-try-again',
          label: t('bills.tryAgain'),
          unknownText: t('bills.outcomeUnknown'),
          retry: () => attempt(form, send, body, { newCard, defaultFailed }),
        });
      } else if (err && err.status === 409) {
        // Not payable any more (paid meanwhile, e.g. automatically): show how it stands now.
        await state.reload();
      }
      return;
    }
    form.setAttribute('data-outcome', 'succeeded');
    setMessage(form, '', '');
    await onPaid(answer, { newCard, defaultFailed });
  };

  // the saved cards
  const paySend = api.idempotentSender();
  const payForm = h('form', { class: 'form', 'data-testid': 'pay-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    field({
      form: 'pay',
      name: 'payment_method_id',
      label: t('bills.payWith'),
      value: preferredCard(state.cards),
      options: cardOptions(state.cards, 'bills'),
      attrs: { 'data-testid': 'pay-card' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'pay-submit' }, t('bills.payAmount', { amount: amount() }))));
  onSubmit(payForm, async () => {
    const method = payForm.querySelector('select').value;
    await attempt(payForm, paySend, method ? { payment_method_id: method } : {});
  });

  // a new card that pays
  const newCardSend = api.idempotentSender();
  const newCardForm = cardForm({
    id: 'pay-card',
    testid: 'update-card-form',
    labelledBy: newCardTitleId,
    submitLabel: t('bills.saveCardAndPay', { amount: amount() }),
    async onCard(details, form) {
      clearErrors(form);
      form.removeAttribute('data-outcome');
      let card = await saveCardFrom(form, details);
      if (!card) return;
      let defaultFailed = false;
      try {
        card = { ...card, ...(await makeDefaultCard(card.id)), is_default: true };
      } catch (err) {
        if (err && err.handled) return;
        defaultFailed = true; // the card is saved and pays all the same
      }
      state.addCard(card);
      await attempt(form, newCardSend, { payment_method_id: card.id }, { newCard: card, defaultFailed });
    },
  });
  const newCardBox = newCardPanel({
    id: 'pay-new-card',
    toggleTestid: 'pay-new-card-toggle',
    toggleLabel: t('bills.payWithNewCard'),
    titleTag: 'h3',
    titleId: newCardTitleId,
    title: t('bills.newCardTitle'),
    hint: t('bills.newCardHint'),
    form: newCardForm,
  });
  state.openNewCard = newCardBox.open;
  state.refreshCardSelect = () => refreshCardSelect(payForm.querySelector('select'), state.cards, 'bills');

  if (state.cards.length) {
    section.append(payForm, h('div', { class: 'actions new-card-toggle' }, newCardBox.toggle), newCardBox.panel);
  } else {
    // No saved card: the new-card form is the way to pay.
    newCardBox.setOpen(true);
    section.append(h('p', { 'data-testid': 'pay-no-cards' }, t('bills.noCardsPay')), newCardBox.panel);
  }
  return section;
}

async function renderInvoice(ctx, invoiceId) {
  let invoice;
  let cards;
  try {
    [invoice, cards] = await Promise.all([api.get(invoicePath(invoiceId)), listCards()]);
  } catch (err) {
    if (err && err.status === 404) {
      return h('section', { class: 'page', 'data-testid': 'page-invoice-missing' },
        h('p', { class: 'back-link' }, h('a', { href: '#/bills', 'data-testid': 'back-to-bills' }, t('bills.backToBills'))),
        h('h1', {}, t('bills.notFoundTitle')),
        h('p', { class: 'notice' }, t('bills.notFound')));
    }
    throw err;
  }
  const state = {
    invoice,
    cards,
    openNewCard: () => {},
    refreshCardSelect: () => {},
    addCard(card) {
      state.cards = [card, ...state.cards.filter((pm) => pm.id !== card.id)
        .map((pm) => (card.is_default ? { ...pm, is_default: false } : pm))];
      state.refreshCardSelect();
    },
    async reload() {
      try {
        state.invoice = await api.get(invoicePath(invoiceId));
        draw();
      } catch (err) {
        // the refusal is on screen already
      }
    },
  };

  const heading = h('h1', { 'data-testid': 'invoice-title' });
  const statusSlot = h('span', { class: 'status-slot' });
  const result = resultRegion('invoice-result');
  const collectionSlot = h('div', { class: 'collection-slot' });
  const factsSlot = h('div', {});
  const linesSlot = h('div', {});
  const paySlot = h('div', { class: 'pay-slot' });

  const onPaid = async (answer, { newCard, defaultFailed }) => {
    if (answer && answer.invoice) state.invoice = answer.invoice;
    else await state.reload();
    const payment = answer && answer.payment;
    const card = newCard || (payment && state.cards.find((pm) => pm.id === payment.payment_method_id));
    const paid = payment && isMoney(payment.amount) ? money(payment.amount) : money(state.invoice.total);
    draw();
    result.replaceChildren(h('div', { class: 'notice success', 'data-testid': 'payment-success' },
      h('p', { class: 'strong' }, card ? t('bills.paidWith', { amount: paid, card: cardLabel(card) }) : t('bills.paid', { amount: paid })),
      newCard && !defaultFailed ? h('p', {}, t('bills.newCardDefault', { card: cardLabel(newCard) })) : null,
      Array.isArray(answer && answer.reinstated) && answer.reinstated.length
        ? h('p', { 'data-testid': 'payment-reinstated' }, t('bills.reinstated')) : null,
      defaultFailed ? h('p', {}, t('bills.newCardNotDefault', { card: cardLabel(newCard) })) : null,
      payment && payment.status === 'succeeded'
        ? h('p', {}, pdfLink(receiptPath(payment.id), t('bills.downloadReceipt'), { 'data-testid': 'payment-success-receipt' }))
        : null));
    result.scrollIntoView({ block: 'nearest', behavior: 'auto' });
    result.focus({ preventScroll: true });
  };

  const draw = () => {
    const inv = state.invoice;
    heading.textContent = t('bills.invoiceTitle', { number: inv.number || inv.id });
    statusSlot.replaceChildren(badge('invoice', inv.status, { 'data-testid': 'invoice-status' }));
    const problem = collectionProblem(inv);
    collectionSlot.replaceChildren(...(problem ? [h('div', {
      class: `notice ${problem.exhausted ? 'error' : 'warning'} collection-notice`,
      'data-testid': 'collection-notice',
      'data-state': inv.collection.state || '',
    },
    collectionSentences(inv, problem).map((line) => h('p', {}, line)),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'button primary', 'data-testid': 'collection-update-card',
        on: { click: () => state.openNewCard() },
      }, t('bills.updateCardAndRetry'))))] : []));
    const period = inv.period && inv.period.start && inv.period.end
      ? t('bills.periodRange', { start: date(inv.period.start), end: date(inv.period.end) }) : null;
    factsSlot.replaceChildren(
      h('dl', { class: 'pairs' },
        fact(t('bills.issued'), date(inv.issue_date), 'invoice-issue-date'),
        fact(t('bills.due'), date(inv.due_date), 'invoice-due-date'),
        period ? fact(t('bills.period'), period, 'invoice-period') : null,
        fact(t('bills.amountDue'), money(inv.amount_due), 'invoice-summary-amount-due')),
      h('p', {}, pdfLink(invoicePath(inv.id, 'pdf'), t('bills.downloadPdf'), {
        class: 'button secondary', 'data-testid': 'invoice-pdf',
        'aria-label': t('bills.downloadPdfLabel', { number: inv.number || inv.id }),
      })));
    linesSlot.replaceChildren(...[linesTable(inv), totalsTable(inv), creditNotes(inv)].filter(Boolean));
    if (isPayable(inv)) {
      if (!paySlot.firstChild) paySlot.replaceChildren(paySection(state, { onPaid }));
    } else {
      paySlot.replaceChildren();
      state.openNewCard = () => {};
    }
  };
  draw();

  return h('section', { class: 'page wide', 'data-testid': 'page-invoice', 'data-invoice-id': invoice.id },
    h('p', { class: 'back-link' }, h('a', { href: '#/bills', 'data-testid': 'back-to-bills' }, t('bills.backToBills'))),
    h('div', { class: 'invoice-head' }, heading, statusSlot),
    result,
    collectionSlot,
    h('div', { class: 'bills-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'invoice-facts-title' },
        h('h2', { id: 'invoice-facts-title' }, t('bills.detailsTitle')),
        factsSlot),
      paySlot),
    h('section', { class: 'card bills-card', 'aria-labelledby': 'invoice-lines-title' },
      h('h2', { id: 'invoice-lines-title' }, t('bills.linesTitle')),
      linesSlot));
}

// --- the page ----------------------------------------------------------------------------------

async function renderList(ctx) {
  const settled = await Promise.allSettled([
    api.get(`${BASE}?limit=${PAGE_SIZE}`),
    api.get('/api/v1/dashboard'),
    api.get(`/api/v1/payments?limit=${PAGE_SIZE}`),
    api.get('/api/v1/autopay'),
    listCards(),
  ]);
  const handled = settled.find((r) => r.status === 'rejected' && r.reason && r.reason.handled);
  if (handled) throw handled.reason;
  const [invoicesR, dashboardR, paymentsR, autopayR, cardsR] = settled;
  if (invoicesR.status === 'rejected') throw invoicesR.reason; // nothing to show without them
  const firstPage = invoicesR.value;
  const invoices = dataOf(firstPage);
  const currency = (ctx.session.account && ctx.session.account.currency) || (invoices[0] && invoices[0].currency);

  // What is owed: the server's figure (every invoice, not only this page); when that part is
  // not available, added up here if every invoice is loaded.
  const bills = dashboardR.status === 'fulfilled' && dashboardR.value && dashboardR.value.bills;
  let summary = null;
  if (bills && !bills.unavailable) summary = bills;
  else if (!firstPage.has_more) summary = summarise(invoices, currency);

  const autopayOk = autopayR.status === 'fulfilled' && autopayR.value && typeof autopayR.value.enabled === 'boolean';
  const state = {
    cards: cardsR.status === 'fulfilled' ? cardsR.value : [],
    autopay: autopayOk ? autopayR.value : null,
    autopayError: autopayOk ? null : (autopayR.reason || { code: 'UNKNOWN' }),
    invoiceNumbers: new Map(invoices.map((invoice) => [invoice.id, invoice.number])),
  };

  return h('section', { class: 'page wide', 'data-testid': 'page-bills' },
    h('h1', {}, t('bills.title')),
    attentionList(invoices),
    h('div', { class: 'bills-grid' },
      summaryCard(summary),
      autopayCard(state)),
    invoicesCard(state, firstPage),
    paymentsCard(state, paymentsR.status === 'fulfilled' ? paymentsR.value : null,
      paymentsR.status === 'rejected' ? paymentsR.reason : null));
}

export async function render(ctx) {
  const [invoiceId] = ctx.params || [];
  return invoiceId ? renderInvoice(ctx, invoiceId) : renderList(ctx);
}
