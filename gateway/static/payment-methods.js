// Cards (Settings → Payment methods): the list with Make default and Remove (confirmed first),
// and the Add card form. Card labels are shared with the Wallet tab's card select; the card
// form itself with the Bills tab (a new card that pays a bill).
//
// The card number and CVC are read from their inputs only inside the submit handler, sent once,
// and the inputs are emptied again whatever the answer: they are never kept in a variable that
// outlives the request, never logged, never put in the URL or in storage.
import * as api from './api.js';
import { t, has } from './i18n.js';
import {
  h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage,
  clearErrors, setFieldError, sectionFeedback,
} from './dom.js';

const BASE = '/api/v1/me/payment-methods';

export function brandName(brand) {
  return has(`cards.brand.${brand}`) ? t(`cards.brand.${brand}`) : t('cards.brand.unknown');
}

/** "Visa •••• 4242" */
export function cardLabel(pm) {
  return `${brandName(pm.brand)} •••• ${pm.last4 || ''}`;
}

export function isExpired(pm, now = new Date()) {
  const year = now.getFullYear();
  const month = now.getMonth() + 1;
  return Number(pm.exp_year) < year || (Number(pm.exp_year) === year && Number(pm.exp_month) < month);
}

export function expiryText(pm) {
  return `${String(pm.exp_month).padStart(2, '0')}/${pm.exp_year}`;
}

// Whether the payment provider is a test one (the sandbox), as the card list says (test_mode):
// only then do card forms show the sandbox's test cards. Forms made before the first answer
// wait for it in `testCardSlots`.
let testMode = null;
const testCardSlots = new Set();

function learnTestMode(answer) {
  testMode = Boolean(answer && answer.test_mode === true);
  for (const slot of testCardSlots) slot.replaceChildren(...(testMode ? [testCardsNote()] : []));
  testCardSlots.clear();
}

export async function listCards() {
  const answer = await api.get(BASE);
  learnTestMode(answer);
  return Array.isArray(answer && answer.data) ? answer.data : [];
}

// --- checks before sending ----------------------------------------------------------------------

function luhnOk(digits) {
  let total = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2) digit = digit > 4 ? digit * 2 - 9 : digit * 2;
    total += digit;
  }
  return total % 10 === 0;
}

/** The number as digits only, or null when it cannot be a card number. */
function cardDigits(text) {
  const digits = text.replace(/[\s-]/g, '');
  return /^\d{12,19}$/.test(digits) && luhnOk(digits) ? digits : null;
}

function expiryYear(text) {
  if (/^\d{4}$/.test(text)) return Number(text);
  if (/^\d{2}$/.test(text)) return 2000 + Number(text);
  return null;
}

// --- the list -----------------------------------------------------------------------------------

function cardItem(pm, { onMakeDefault, onRemove }, onlyCard) {
  const label = cardLabel(pm);
  const expired = isExpired(pm);
  const confirmSlot = h('div', { class: 'confirm-slot' });
  const buttons = [];
  let makeDefault = null;
  if (!pm.is_default) {
    makeDefault = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'payment-method-make-default',
      'aria-label': t('cards.makeDefaultLabel', { card: label }),
    }, t('cards.makeDefault'));
    makeDefault.addEventListener('click', () => onMakeDefault(pm, makeDefault));
    buttons.push(makeDefault);
  }
  const remove = h('button', {
    type: 'button',
    class: 'button secondary small',
    'data-testid': 'payment-method-remove',
    'aria-label': t('cards.removeLabel', { card: label }),
    'aria-expanded': 'false',
  }, t('cards.remove'));
  buttons.push(remove);

  // Remove asks first, in place: the question and two buttons; Escape or "Keep it" go back.
  const closeConfirm = () => {
    confirmSlot.replaceChildren();
    remove.setAttribute('aria-expanded', 'false');
    remove.focus();
  };
  remove.addEventListener('click', () => {
    if (confirmSlot.firstChild) {
      closeConfirm();
      return;
    }
    const questionId = `confirm-remove-${pm.id}`;
    const yes = h('button', { type: 'button', class: 'button danger small', 'data-testid': 'payment-method-remove-confirm', 'aria-describedby': questionId }, t('cards.removeYes'));
    const no = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'payment-method-remove-cancel' }, t('cards.removeNo'));
    const box = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': questionId },
      h('p', { id: questionId, class: 'strong' },
        t(onlyCard ? 'cards.confirmRemoveLast' : pm.is_default ? 'cards.confirmRemoveDefault' : 'cards.confirmRemove', { card: label })),
      h('div', { class: 'actions' }, yes, no));
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closeConfirm();
    });
    no.addEventListener('click', closeConfirm);
    yes.addEventListener('click', () => onRemove(pm, yes));
    confirmSlot.replaceChildren(box);
    remove.setAttribute('aria-expanded', 'true');
    yes.focus();
  });

  return h('li', { class: 'pm', 'data-testid': 'payment-method', 'data-payment-method-id': pm.id, 'data-default': String(Boolean(pm.is_default)) },
    h('div', { class: 'pm-head' },
      h('span', { class: 'pm-brand' }, brandName(pm.brand)),
      h('span', { class: 'pm-number', 'data-testid': 'payment-method-number' },
        h('span', { 'aria-hidden': 'true' }, `•••• ${pm.last4 || ''}`),
        h('span', { class: 'visually-hidden' }, t('cards.endingIn', { last4: pm.last4 || '' }))),
      pm.is_default ? h('span', { class: 'badge badge-default', 'data-testid': 'payment-method-default' }, t('cards.default')) : null,
      expired ? h('span', { class: 'badge status-suspended', 'data-testid': 'payment-method-expired' }, t('cards.expired')) : null),
    h('p', { class: 'pm-meta muted' },
      h('span', { 'data-testid': 'payment-method-expiry' }, t('cards.expires', { date: expiryText(pm) })),
      pm.holder ? [' · ', h('span', { 'data-testid': 'payment-method-holder' }, pm.holder)] : null),
    h('div', { class: 'actions' }, buttons),
    confirmSlot);
}

// --- adding a card ------------------------------------------------------------------------------

function testCardsNote() {
  const cards = [
    ['4242 4242 4242 4242', 'cards.test.approveVisa'],
    ['5555 5555 5555 4444', 'cards.test.approveMastercard'],
    ['4000 0000 0000 0002', 'cards.test.declined'],
    ['4000 0000 0000 9995', 'cards.test.insufficient'],
    ['4000 0000 0000 0069', 'cards.test.expired'],
    ['4000 0000 0000 0119', 'cards.test.error'],
  ];
  return h('details', { class: 'test-cards', 'data-testid': 'test-cards' },
    h('summary', {}, t('cards.testCards')),
    h('div', { class: 'test-cards-body' },
      h('p', {}, t('cards.testCardsIntro')),
      h('ul', { class: 'plain-list' }, cards.map(([number, key]) => h('li', {},
        h('span', { class: 'serial' }, number), ' – ', t(key))))));
}

/** Where a card form shows the test cards: filled now, or when the card list has said. */
function testCardsSlot() {
  const slot = h('div', { class: 'test-cards-slot' });
  if (testMode === null) testCardSlots.add(slot);
  else if (testMode) slot.append(testCardsNote());
  return slot;
}

/**
 * A card form: number, expiry, CVC and holder, checked before anything is sent. On a valid
 * submit the number and CVC inputs are emptied at once and `onCard(details, form)` gets
 * {number, exp_month, exp_year, cvc, holder} to send (once); it shows the outcome on the form.
 * Used by Settings (add a card) and the Bills tab (a new card that pays a bill).
 */
export function cardForm({ id, testid, labelledBy, submitLabel, onCard }) {
  const F = id;
  const numeric = { inputmode: 'numeric', spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off' };
  const form = h('form', { class: 'form add-card-form', 'data-testid': testid, novalidate: true, 'aria-labelledby': labelledBy },
    formMessage(),
    field({
      form: F, name: 'number', label: t('cards.number'),
      attrs: { ...numeric, autocomplete: 'cc-number', maxlength: '23', 'data-sensitive': 'true', 'data-testid': 'card-number' },
    }),
    h('fieldset', { class: 'field expiry', 'aria-describedby': `${F}-expiry-hint` },
      h('legend', {}, t('cards.expiry')),
      h('p', { class: 'hint', id: `${F}-expiry-hint` }, t('cards.expiryHint')),
      h('div', { class: 'row even' },
        field({ form: F, name: 'exp_month', label: t('cards.expMonth'), attrs: { ...numeric, autocomplete: 'cc-exp-month', maxlength: '2', class: 'short', 'data-testid': 'card-exp-month' } }),
        field({ form: F, name: 'exp_year', label: t('cards.expYear'), attrs: { ...numeric, autocomplete: 'cc-exp-year', maxlength: '4', class: 'short', 'data-testid': 'card-exp-year' } }))),
    field({
      form: F, name: 'cvc', label: t('cards.cvc'), hint: t('cards.cvcHint'),
      attrs: { ...numeric, autocomplete: 'cc-csc', maxlength: '4', class: 'short', 'data-sensitive': 'true', 'data-testid': 'card-cvc' },
    }),
    field({ form: F, name: 'holder', label: t('cards.holder'), attrs: { autocomplete: 'cc-name', maxlength: '200', 'data-testid': 'card-holder' } }),
    testCardsSlot(),
    h('div', { class: 'actions' }, submitButton(submitLabel)));

  const numberInput = form.querySelector('[data-field="number"]');
  const cvcInput = form.querySelector('[data-field="cvc"]');

  onSubmit(form, async () => {
    const problems = {};
    const digits = cardDigits(numberInput.value);
    if (!numberInput.value.trim()) problems.number = t('validation.required');
    else if (!digits) problems.number = t('cards.numberInvalid');
    const monthText = value(form, 'exp_month').trim();
    const month = /^\d{1,2}$/.test(monthText) ? Number(monthText) : null;
    if (!monthText) problems.exp_month = t('validation.required');
    else if (!month || month < 1 || month > 12) problems.exp_month = t('cards.monthInvalid');
    const yearText = value(form, 'exp_year').trim();
    const year = expiryYear(yearText);
    const now = new Date();
    if (!yearText) problems.exp_year = t('validation.required');
    else if (!year) problems.exp_year = t('cards.yearInvalid', { year: now.getFullYear() + 2 });
    else if (month && month >= 1 && month <= 12 && isExpired({ exp_month: month, exp_year: year }, now)) {
      problems.exp_year = t('cards.expiredInput');
    }
    if (!cvcInput.value.trim()) problems.cvc = t('validation.required');
    else if (!/^\d{3,4}$/.test(cvcInput.value.trim())) problems.cvc = t('cards.cvcInvalid');
    const holder = value(form, 'holder').trim();
    if (!holder) problems.holder = t('validation.required');
    // Nothing has been sent yet: the customer may correct a typo in what they entered.
    if (showProblems(form, problems)) return;

    const cvc = cvcInput.value.trim();
    // Sent once: the inputs are emptied before the request, whatever its answer.
    numberInput.value = '';
    cvcInput.value = '';
    await onCard({ number: digits, exp_month: month, exp_year: year, cvc, holder }, form);
  });
  return form;
}

/** Show why the provider refused a card's details (an expired one next to the year). */
export function showCardError(form, err) {
  showApiError(form, err);
  if (err && err.code === 'CARD_INVALID' && err.fields && err.fields.exp_year) {
    setFieldError(form, 'exp_year', t('cards.expiredInput'));
  }
}

/** Save a card (POST /api/v1/me/payment-methods); the new card, as the API answers it. */
export function saveCard(details) {
  return api.post(BASE, details);
}

/** Save the card typed in a card form: the card (the form emptied), or null (the refusal shown). */
export async function saveCardFrom(form, details) {
  let card;
  try {
    card = await saveCard(details);
  } catch (err) {
    showCardError(form, err);
    return null;
  }
  form.reset();
  return card;
}

/** Make a card the default one. */
export function makeDefaultCard(id) {
  return api.post(`${BASE}/${encodeURIComponent(id)}/default`);
}

function addCardForm(onAdded) {
  return cardForm({
    id: 'card',
    testid: 'add-card-form',
    labelledBy: 'add-card-title',
    submitLabel: t('cards.submit'),
    async onCard(details, form) {
      const card = await saveCardFrom(form, details);
      if (!card) return;
      clearErrors(form);
      await onAdded(card);
    },
  });
}

// --- the section --------------------------------------------------------------------------------

/** The Payment methods section of Settings: loads its cards itself and redraws after changes. */
export async function paymentMethodsSection() {
  const titleId = 'payment-methods-title';
  const { status, problem, say, fail } = sectionFeedback('payment-methods', { focus: false });
  const list = h('div', { class: 'pm-list-slot' });

  let refresh;
  const busy = async (button, work) => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  };
  const handlers = {
    onMakeDefault: (pm, button) => busy(button, async () => {
      try {
        await makeDefaultCard(pm.id);
      } catch (err) {
        fail(err);
        return;
      }
      await refresh();
      say(t('cards.madeDefault', { card: cardLabel(pm) }));
      status.focus();
    }),
    onRemove: (pm, button) => busy(button, async () => {
      try {
        await api.del(`${BASE}/${encodeURIComponent(pm.id)}`);
      } catch (err) {
        fail(err);
        return;
      }
      await refresh();
      say(t('cards.removed', { card: cardLabel(pm) }));
      status.focus();
    }),
  };

  const draw = (cards) => {
    list.replaceChildren(cards.length
      ? h('ul', { class: 'pm-list', 'aria-labelledby': titleId }, cards.map((pm) => cardItem(pm, handlers, cards.length === 1)))
      : h('p', { class: 'muted', 'data-testid': 'payment-methods-empty' }, t('cards.none')));
  };
  refresh = async () => {
    try {
      draw(await listCards());
    } catch (err) {
      fail(err);
    }
  };

  const form = addCardForm(async (card) => {
    await refresh();
    const text = t(card.is_default ? 'cards.addedDefault' : 'cards.added', { card: cardLabel(card) });
    setMessage(form, 'success', text);
  });

  let cards = null;
  try {
    cards = await listCards();
  } catch (err) {
    if (err && err.handled) throw err;
    fail(err);
  }
  if (cards) draw(cards);

  return h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'payment-methods' },
    h('h2', { id: titleId }, t('cards.title')),
    h('p', { class: 'intro' }, t('cards.intro')),
    status,
    problem,
    list,
    h('h3', { id: 'add-card-title', class: 'add-card-title' }, t('cards.addTitle')),
    form);
}
