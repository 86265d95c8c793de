// Ops → Voucher batches (`#/ops/vouchers`, agents and admins): create a print batch and watch
// its vouchers being generated, download the print house's CSV once it is active, void a batch
// or a single voucher by its serial, and see who was blocked for guessing codes.
//
// A batch is answered at once with status `created`; its vouchers are generated in the
// background, so the page polls that batch (GET …/{id}) until it is `active`, for as long as
// the page is open. Online batches (one per offer, growing with each sale) are listed too, but
// only print batches are exported or voided as a whole here.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, setMessage, clearErrors, errorText, value,
  showNestedError, onLoadMore,
} from '../dom.js';
import { money, isMoney, date, dateTime, inputDate, parseAmount, amountInput, fractionDigits, locale } from '../format.js';

const BASE = '/api/v1/ops/voucher-batches';
const PAGE_SIZE = 20;
const POLL_MS = 1000;
const MAX_COUNT = 1000000;
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];
const STATUSES = ['created', 'active', 'expired', 'voided'];
const VOIDABLE = ['created', 'active'];

const batchPath = (id, ...rest) => [BASE, encodeURIComponent(id), ...rest].join('/');
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function count(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

/** "never" for the far-future end the online batches carry (their vouchers expire one by one). */
function until(iso) {
  return iso && !iso.startsWith('9999') ? date(iso) : t('opsVouchers.perVoucher');
}

function errorFor(err) {
  const key = `opsVouchers.errors.${err && err.code}`;
  return err && err.code && has(key) ? t(key) : errorText(err);
}

/** A server error on a form ("value.amount" next to the amount), in the ops page's words. */
function showError(form, err) {
  showNestedError(form, err, errorFor(err));
}

function statusBadge(batch) {
  const status = STATUSES.includes(batch.status) ? batch.status : 'unknown';
  const key = `opsVouchers.status.${batch.status}`;
  return h('span', { class: `badge batch-status-${status}`, 'data-testid': 'batch-status', 'data-status': batch.status },
    has(key) ? t(key) : String(batch.status || ''));
}

// --- creating a batch --------------------------------------------------------------------------

function createCard(state) {
  const F = 'batch';
  const titleId = 'batch-create-title';
  const currency = CURRENCIES.includes(state.currency) ? state.currency : 'EUR';
  const form = h('form', { class: 'form', 'data-testid': 'batch-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    h('div', { class: 'pair' },
      field({
        form: F, name: 'amount', label: t('opsVouchers.value'), hint: t('opsVouchers.valueHint'),
        attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'batch-value' },
      }),
      field({
        form: F, name: 'currency', label: t('opsVouchers.currency'), value: currency,
        options: CURRENCIES.map((code) => ({ value: code, label: t(`currency.${code}`) })),
        attrs: { 'data-testid': 'batch-currency' },
      })),
    field({
      form: F, name: 'count', label: t('opsVouchers.count'), hint: t('opsVouchers.countHint', { max: count(MAX_COUNT) }),
      attrs: { inputmode: 'numeric', autocomplete: 'off', class: 'amount-input', 'data-testid': 'batch-count' },
    }),
    h('div', { class: 'pair' },
      field({
        form: F, name: 'valid_from', type: 'date', label: t('opsVouchers.validFrom'), hint: t('opsVouchers.validFromHint'),
        attrs: { 'data-testid': 'batch-valid-from' },
      }),
      field({
        form: F, name: 'valid_until', type: 'date', label: t('opsVouchers.validUntil'), hint: t('opsVouchers.validUntilHint'),
        value: inputDate(365), attrs: { 'data-testid': 'batch-valid-until' },
      })),
    h('div', { class: 'field' },
      h('div', { class: 'checkbox' },
        h('input', { type: 'checkbox', id: `${F}-restriction`, name: 'restriction', 'data-field': 'restriction', 'data-testid': 'batch-prepaid-only' }),
        h('label', { for: `${F}-restriction` }, t('opsVouchers.prepaidOnly'))),
      h('p', { class: 'field-error', id: `${F}-restriction-error`, 'data-error-for': 'restriction' })),
    field({
      form: F, name: 'description', label: t('opsVouchers.description'), hint: t('opsVouchers.descriptionHint'),
      attrs: { maxlength: '300', autocomplete: 'off', 'data-testid': 'batch-description' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'batch-submit' }, t('opsVouchers.create'))));

  // Creating a batch makes money: one attempt keeps its Idempotency-Key while the outcome is
  // unknown (network error, 5xx), so resubmitting never makes a second batch.
  const send = api.idempotentSender();
  onSubmit(form, async () => {
    const problems = {};
    const chosen = value(form, 'currency');
    const amountText = value(form, 'amount').trim();
    const parsed = parseAmount(amountText, chosen);
    if (!amountText) problems.amount = t('validation.required');
    else if (parsed.error || parsed.amount <= 0) {
      problems.amount = t('opsVouchers.valueInvalid', {
        example: amountInput({ amount: 10 * 10 ** fractionDigits(chosen), currency: chosen }),
      });
    }
    const countText = value(form, 'count').replace(/[\s.,'\u00a0\u202f]/g, '');
    const number = /^\d+$/.test(countText) ? Number(countText) : null;
    if (!countText) problems.count = t('validation.required');
    else if (!number || number < 1 || number > MAX_COUNT) problems.count = t('opsVouchers.countInvalid', { max: count(MAX_COUNT) });
    const from = value(form, 'valid_from');
    const to = value(form, 'valid_until');
    if (!to) problems.valid_until = t('validation.required');
    else if (to < inputDate(0)) problems.valid_until = t('opsVouchers.untilPast');
    else if (from && to < from) problems.valid_until = t('opsVouchers.untilBeforeFrom');
    if (showProblems(form, problems)) return;

    // Whole days in UTC: from the start of the first day to the end of the last one.
    const body = {
      type: 'print',
      value: { amount: parsed.amount, currency: chosen },
      count: number,
      valid_until: `${to}T23:59:59Z`,
      restriction: form.querySelector(`#${F}-restriction`).checked ? 'prepaid' : null,
    };
    if (from) body.valid_from = `${from}T00:00:00Z`;
    const description = value(form, 'description').trim();
    if (description) body.description = description;
    let batch;
    try {
      batch = await send('POST', BASE, body);
    } catch (err) {
      showError(form, err);
      return;
    }
    clearErrors(form);
    // A new batch is a new decision: what made this one is not left to be sent twice.
    form.querySelector('[data-field="count"]').value = '';
    form.querySelector('[data-field="description"]').value = '';
    setMessage(form, 'success', t('opsVouchers.created', { number: batch.number, count: count(batch.count) }));
    state.addBatch(batch);
  });

  return h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'batch-create' },
    h('h2', { id: titleId }, t('opsVouchers.createTitle')),
    h('p', { class: 'intro' }, t('opsVouchers.createIntro')),
    form);
}

// --- voiding one voucher -----------------------------------------------------------------------

function voidVoucherCard() {
  const F = 'void-voucher';
  const titleId = 'void-voucher-title';
  const form = h('form', { class: 'form', 'data-testid': 'voucher-void-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    field({
      form: F, name: 'serial', label: t('opsVouchers.serial'), hint: t('opsVouchers.serialHint'),
      attrs: { inputmode: 'numeric', autocomplete: 'off', maxlength: '40', class: 'serial', 'data-testid': 'voucher-void-serial' },
    }),
    field({
      form: F, name: 'reason', label: t('opsVouchers.reason'),
      attrs: { maxlength: '300', autocomplete: 'off', 'data-testid': 'voucher-void-reason' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button danger', 'data-testid': 'voucher-void-submit' }, t('opsVouchers.voidVoucher'))));
  onSubmit(form, async () => {
    const serial = value(form, 'serial').replace(/\s/g, '');
    const reason = value(form, 'reason').trim();
    const problems = {};
    if (!serial) problems.serial = t('validation.required');
    if (reason.length < 3) problems.reason = t('opsVouchers.reasonTooShort');
    if (showProblems(form, problems)) return;
    try {
      const answer = await api.post(`/api/v1/ops/vouchers/${encodeURIComponent(serial)}/void`, { reason });
      clearErrors(form);
      form.reset();
      setMessage(form, 'success', t('opsVouchers.voucherVoided', { serial: (answer && answer.serial) || serial }));
    } catch (err) {
      showError(form, err);
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'voucher-void' },
    h('h2', { id: titleId }, t('opsVouchers.voidVoucherTitle')),
    h('p', { class: 'intro' }, t('opsVouchers.voidVoucherIntro')),
    form);
}

// --- the batches -------------------------------------------------------------------------------

function progressCell(batch) {
  const total = Number.isInteger(batch.count) ? batch.count : 0;
  const made = Number.isInteger(batch.generated) ? batch.generated : 0;
  const text = t('opsVouchers.generated', { generated: count(made), count: count(total) });
  if (batch.status !== 'created') return h('span', { 'data-testid': 'batch-count' }, count(total));
  return h('span', { class: 'batch-progress', 'data-testid': 'batch-progress' },
    h('progress', { max: String(Math.max(total, 1)), value: String(made), 'aria-label': text }),
    h('span', { class: 'muted' }, text));
}

function batchRow(batch, { onVoid }) {
  const printable = batch.type === 'print';
  const actions = [];
  if (printable && batch.status === 'active') {
    actions.push(h('a', {
      href: batchPath(batch.id, 'export.csv'),
      download: true,
      type: 'text/csv',
      class: 'button secondary small',
      'data-testid': 'batch-export',
      'aria-label': t('opsVouchers.exportLabel', { number: batch.number }),
    }, t('opsVouchers.export')));
  }
  if (printable && VOIDABLE.includes(batch.status)) {
    const button = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'batch-void',
      'aria-label': t('opsVouchers.voidLabel', { number: batch.number }),
      'aria-expanded': 'false', // aria-controls only while its panel is in the page
    }, t('opsVouchers.void'));
    button.addEventListener('click', () => onVoid(batch, button));
    actions.push(button);
  }
  const typeKey = `opsVouchers.type.${batch.type}`;
  const details = [
    has(typeKey) ? t(typeKey) : String(batch.type || ''),
    batch.restriction === 'prepaid' ? t('opsVouchers.prepaidOnlyShort') : null,
  ].filter(Boolean).join(' · ');
  return h('tr', { 'data-testid': 'batch-row', 'data-batch-id': batch.id, 'data-status': batch.status, 'data-number': String(batch.number) },
    h('th', { scope: 'row', 'data-label': t('opsVouchers.batch') },
      h('span', { class: 'serial', 'data-testid': 'batch-number' }, t('opsVouchers.number', { number: batch.number })),
      h('span', { class: 'batch-description muted', 'data-testid': 'batch-type' }, details),
      batch.description ? h('span', { class: 'batch-description', 'data-testid': 'batch-description' }, batch.description) : null),
    h('td', { 'data-label': t('opsVouchers.value'), class: 'amount', 'data-testid': 'batch-value' }, isMoney(batch.value) ? money(batch.value) : ''),
    h('td', { 'data-label': t('opsVouchers.vouchers'), class: 'amount' }, progressCell(batch)),
    h('td', { 'data-label': t('opsVouchers.statusColumn'), class: 'batch-state' },
      h('span', {}, statusBadge(batch),
        batch.status === 'voided' && batch.void_reason
          ? h('span', { class: 'batch-description muted', 'data-testid': 'batch-void-reason' }, batch.void_reason) : null)),
    h('td', { 'data-label': t('opsVouchers.validColumn') },
      t('opsVouchers.validRange', { from: date(batch.valid_from), until: until(batch.valid_until) })),
    h('td', { 'data-label': t('opsVouchers.createdColumn') },
      h('time', { datetime: batch.created_at || '' }, dateTime(batch.created_at))),
    h('td', { class: 'row-action' }, actions.length ? h('div', { class: 'row-buttons' }, actions) : null));
}

function voidPanel(batch, { onDone, onCancel }) {
  const F = 'batch-void';
  const titleId = 'batch-void-title';
  const questionId = 'batch-void-question';
  const form = h('form', { class: 'form', 'data-testid': 'batch-void-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    field({
      form: F, name: 'reason', label: t('opsVouchers.reason'), attrs: { maxlength: '300', autocomplete: 'off', 'data-testid': 'batch-void-reason-input' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button danger', 'data-testid': 'batch-void-confirm', 'aria-describedby': questionId },
        t('opsVouchers.voidConfirm', { number: batch.number })),
      h('button', { type: 'button', class: 'button secondary', 'data-testid': 'batch-void-cancel', on: { click: onCancel } },
        t('opsVouchers.keep'))));
  onSubmit(form, async () => {
    const reason = value(form, 'reason').trim();
    if (showProblems(form, reason.length < 3 ? { reason: t('opsVouchers.reasonTooShort') } : {})) return;
    let answer;
    try {
      answer = await api.post(batchPath(batch.id, 'void'), { reason });
    } catch (err) {
      showError(form, err);
      return;
    }
    await onDone(answer);
  });
  const panel = h('section', { class: 'confirm void-panel', id: 'batch-void-panel', 'aria-labelledby': titleId, 'data-testid': 'batch-void-panel' },
    h('h3', { id: titleId, tabindex: '-1' }, t('opsVouchers.voidTitle', { number: batch.number })),
    h('p', { id: questionId, class: 'strong' }, t('opsVouchers.voidQuestion', { count: count(batch.count), value: money(batch.value) })),
    form);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') onCancel();
  });
  return panel;
}

function batchesCard(ctx, state, firstPage) {
  const titleId = 'batches-title';
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger batch-table', 'data-testid': 'batch-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('opsVouchers.batch')),
        h('th', { scope: 'col', class: 'amount' }, t('opsVouchers.value')),
        h('th', { scope: 'col', class: 'amount' }, t('opsVouchers.vouchers')),
        h('th', { scope: 'col', class: 'batch-state' }, t('opsVouchers.statusColumn')),
        h('th', { scope: 'col' }, t('opsVouchers.validColumn')),
        h('th', { scope: 'col' }, t('opsVouchers.createdColumn')),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('opsVouchers.actions'))))),
    body);
  const status = h('div', { class: 'result', role: 'status', 'aria-live': 'polite', tabindex: '-1', 'data-testid': 'batches-status' });
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'batches-error' });
  const voidSlot = h('div', { class: 'void-slot' });
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'batches-load-more' }, t('opsVouchers.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  // a table wider than a phone scrolls: the region takes keyboard focus so it can be scrolled
  const wrap = h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': titleId });
  const rows = new Map(); // batch id → its row
  const watching = new Set();
  let cursor = null;
  let voidFor = null; // the button that opened the void panel

  const closeVoid = ({ focus = true } = {}) => {
    voidSlot.replaceChildren();
    if (voidFor) {
      voidFor.removeAttribute('aria-controls'); // the panel it controlled is gone
      voidFor.setAttribute('aria-expanded', 'false');
    }
    if (voidFor && focus && voidFor.isConnected) voidFor.focus();
    voidFor = null;
  };
  const redraw = (batch) => {
    const row = batchRow(batch, { onVoid });
    const old = rows.get(batch.id);
    rows.set(batch.id, row);
    if (old && old.isConnected) old.replaceWith(row);
    return row;
  };
  function onVoid(batch, button) {
    closeVoid({ focus: false });
    voidFor = button;
    const panel = voidPanel(batch, {
      async onDone(answer) {
        const voided = answer && answer.id ? answer : { ...batch, status: 'voided' };
        closeVoid({ focus: false });
        redraw(voided);
        status.replaceChildren(h('p', { class: 'notice success' }, t('opsVouchers.batchVoided', { number: voided.number })));
        status.focus();
      },
      onCancel: () => closeVoid(),
    });
    voidSlot.replaceChildren(panel);
    button.setAttribute('aria-controls', panel.id);
    button.setAttribute('aria-expanded', 'true');
    panel.scrollIntoView({ block: 'nearest', behavior: 'auto' });
    panel.querySelector('input').focus({ preventScroll: true });
  }

  // Follow a batch whose vouchers are being made until it is active (or the page is left).
  const watch = async (batch) => {
    if (batch.status !== 'created' || watching.has(batch.id)) return;
    watching.add(batch.id);
    let current = batch;
    try {
      while (current.status === 'created') {
        await sleep(POLL_MS);
        if (!ctx.isCurrent() || !rows.get(current.id) || !rows.get(current.id).isConnected) return;
        try {
          current = await api.get(batchPath(current.id));
        } catch (err) {
          if (err && err.handled) return;
          continue; // try again at the next tick
        }
        redraw(current);
      }
      if (current.status === 'active') {
        status.replaceChildren(h('p', { class: 'notice success' }, t('opsVouchers.batchReady', { number: current.number, count: count(current.count) })));
      }
    } finally {
      watching.delete(batch.id);
    }
  };

  const draw = (page, { append } = {}) => {
    const batches = dataOf(page);
    const made = batches.filter((batch) => !rows.has(batch.id) || !rows.get(batch.id).isConnected).map((batch) => redraw(batch));
    if (append) body.append(...made);
    else body.replaceChildren(...made);
    wrap.replaceChildren(body.children.length ? table : h('p', { class: 'muted', 'data-testid': 'batches-empty' }, t('opsVouchers.noBatches')));
    cursor = page && page.has_more && page.next_cursor ? page.next_cursor : null;
    moreSlot.replaceChildren(...(cursor ? [more] : []));
    batches.forEach(watch);
    return made;
  };

  onLoadMore(more, problem, () => cursor, async (at) => draw(
    await api.get(`${BASE}?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(at)}`), { append: true }));

  state.addBatch = (batch) => {
    const row = redraw(batch);
    body.prepend(row);
    wrap.replaceChildren(table);
    status.replaceChildren();
    watch(batch);
  };

  draw(firstPage);
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'batches' },
    h('h2', { id: titleId }, t('opsVouchers.batchesTitle')),
    status,
    problem,
    wrap,
    moreSlot,
    voidSlot);
}

// --- guessing, as the throttle saw it ----------------------------------------------------------

function who(key) {
  const found = /^redeem:(account|ip):(.+)$/.exec(String(key || ''));
  if (!found) return String(key || '');
  return t(found[1] === 'account' ? 'opsVouchers.throttleAccount' : 'opsVouchers.throttleAddress', { id: found[2] });
}

function throttlesCard(firstPage, loadError) {
  const titleId = 'throttles-title';
  const wrap = h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': titleId });
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'throttles-error' });
  const refresh = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'throttles-refresh' }, t('opsVouchers.refresh'));

  const draw = (page) => {
    const events = dataOf(page);
    const now = Date.now();
    if (!events.length) {
      wrap.replaceChildren(h('p', { class: 'muted', 'data-testid': 'throttles-empty' }, t('opsVouchers.noThrottles')));
      return;
    }
    wrap.replaceChildren(h('table', { class: 'ledger', 'data-testid': 'throttle-list', 'aria-labelledby': titleId },
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, t('opsVouchers.who')),
          h('th', { scope: 'col', class: 'amount' }, t('opsVouchers.failures')),
          h('th', { scope: 'col' }, t('opsVouchers.blockedUntil')),
          h('th', { scope: 'col' }, t('opsVouchers.since')))),
      h('tbody', {}, events.map((event) => {
        const blocked = Date.parse(event.blocked_until) > now;
        return h('tr', { 'data-testid': 'throttle-row', 'data-key': event.key || '' },
          h('th', { scope: 'row', 'data-label': t('opsVouchers.who'), class: 'serial' }, who(event.key)),
          h('td', { 'data-label': t('opsVouchers.failures'), class: 'amount', 'data-testid': 'throttle-failures' }, String(event.failures ?? '')),
          h('td', { 'data-label': t('opsVouchers.blockedUntil'), class: 'when' },
            h('time', { datetime: event.blocked_until || '' }, dateTime(event.blocked_until)),
            blocked ? h('span', { class: 'badge batch-status-voided still-blocked', 'data-testid': 'throttle-blocked' }, t('opsVouchers.stillBlocked')) : null),
          h('td', { 'data-label': t('opsVouchers.since'), class: 'when' },
            h('time', { datetime: event.created_at || '' }, dateTime(event.created_at))));
      }))));
  };

  refresh.addEventListener('click', async () => {
    if (refresh.disabled) return;
    refresh.disabled = true;
    problem.replaceChildren();
    try {
      draw(await api.get('/api/v1/ops/voucher-throttles?limit=100'));
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      refresh.disabled = false;
    }
  });

  if (loadError) problem.replaceChildren(h('p', {}, errorText(loadError)));
  else draw(firstPage);
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'throttles' },
    h('div', { class: 'panel-head' }, h('h2', { id: titleId }, t('opsVouchers.throttlesTitle')), refresh),
    h('p', { class: 'intro' }, t('opsVouchers.throttlesIntro')),
    problem,
    wrap);
}

// --- the page ----------------------------------------------------------------------------------

export async function render(ctx) {
  const settled = await Promise.allSettled([
    api.get(`${BASE}?limit=${PAGE_SIZE}`),
    api.get('/api/v1/ops/voucher-throttles?limit=100'),
  ]);
  const handled = settled.find((r) => r.status === 'rejected' && r.reason && r.reason.handled);
  if (handled) throw handled.reason;
  const [batchesR, throttlesR] = settled;
  if (batchesR.status === 'rejected') throw batchesR.reason; // a 403, or the service is down
  const state = {
    currency: ctx.session.account && ctx.session.account.currency,
    addBatch: () => {},
  };
  const batches = batchesCard(ctx, state, batchesR.value);
  return h('section', { class: 'page wide', 'data-testid': 'page-ops-vouchers' },
    h('h1', {}, t('opsVouchers.title')),
    h('p', { class: 'intro' }, t('opsVouchers.intro')),
    h('div', { class: 'ops-grid' },
      createCard(state),
      voidVoucherCard()),
    batches,
    throttlesCard(throttlesR.status === 'fulfilled' ? throttlesR.value : null,
      throttlesR.status === 'rejected' ? throttlesR.reason : null));
}
