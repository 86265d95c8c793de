// Paying by card, as the Bills tab (pay an invoice), the Vouchers tab (buy a voucher) and the
// Wallet tab (top up) do it: the card select, a declined card, the "Try again" of an attempt
// whose outcome is unknown (same request, same Idempotency-Key: charged at most once), and the
// panel with a new card that pays in one submit.
import { t, currentLanguage } from './i18n.js';
import { h, setMessage } from './dom.js';
import { cardLabel, isExpired } from './payment-methods.js';

/** The card select's options; `keys` is the page's i18n prefix (its expiredCard, defaultCard). */
export function cardOptions(cards, keys) {
  return cards.map((pm) => ({
    value: pm.id,
    label: isExpired(pm) ? t(`${keys}.expiredCard`, { card: cardLabel(pm) })
      : pm.is_default ? t(`${keys}.defaultCard`, { card: cardLabel(pm) }) : cardLabel(pm),
  }));
}

/** The card chosen at first: the default one unless it expired, else the first usable one. */
export function preferredCard(cards) {
  const usable = cards.filter((pm) => !isExpired(pm));
  return (usable.find((pm) => pm.is_default) || usable[0] || cards[0] || {}).id || '';
}

/** Refill a card select after the cards changed, keeping the choice while that card is there. */
export function refreshCardSelect(select, cards, keys) {
  const chosen = select.value;
  select.replaceChildren(...cardOptions(cards, keys).map((opt) => h('option', { value: opt.value }, opt.label)));
  select.value = cards.some((pm) => pm.id === chosen) ? chosen : preferredCard(cards);
}

/** The network failed or the provider did not answer: the payment may or may not have happened. */
export function isUnknownOutcome(err) {
  return Boolean(err && (err.status === 0 || err.status >= 500));
}

/**
 * A declined card on a form: the server's sentence (strong) and `explanation` under it; the
 * form's data-outcome is "declined". Returns the message box, for more to be added.
 */
export function showDecline(form, err, explanation) {
  setMessage(form, 'error', err.serverMessage || t('errors.PAYMENT_DECLINED'));
  const box = form.querySelector('[data-testid="form-message"]');
  // The server's sentence is in English; say so to screen readers in other languages.
  if (err.serverMessage && currentLanguage() !== 'en') box.firstChild.setAttribute('lang', 'en');
  box.firstChild.classList.add('strong');
  box.append(h('p', { 'data-testid': 'decline-explanation' }, explanation));
  form.setAttribute('data-outcome', 'declined');
  return box;
}

/**
 * The outcome is unknown (the error is on the form already): say so (`unknownText`, unless the
 * provider said it was unavailable) and offer a "Try again" button (`testid`, `label`) that runs
 * `retry()`, the same request with the same key, once.
 */
export function offerTryAgain(form, err, { testid, label, unknownText, retry }) {
  const box = form.querySelector('[data-testid="form-message"]');
  if (err.code !== 'PAYMENT_PROVIDER_UNAVAILABLE') box.append(h('p', {}, unknownText));
  const again = h('button', { type: 'button', class: 'button primary', 'data-testid': testid }, label);
  again.addEventListener('click', async () => {
    if (again.disabled) return;
    again.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await retry();
    } finally {
      form.removeAttribute('aria-busy');
    }
  });
  box.append(h('div', { class: 'actions' }, again));
  again.focus();
}

/**
 * The new-card panel (`id`), hidden until its toggle is pressed: a title (`titleTag`,
 * `titleId`), a hint and the card `form`. `open()` shows it and puts the keyboard on the number.
 */
export function newCardPanel({ id, toggleTestid, toggleLabel, titleTag, titleId, title, hint, form }) {
  const toggle = h('button', {
    type: 'button',
    class: 'button secondary',
    'data-testid': toggleTestid,
    'aria-expanded': 'false',
    'aria-controls': id,
  }, toggleLabel);
  const panel = h('div', { class: 'new-card', id, hidden: true },
    h(titleTag, { id: titleId }, title),
    h('p', { class: 'hint' }, hint),
    form);
  const setOpen = (open) => {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', () => setOpen(panel.hidden));
  const open = () => {
    setOpen(true);
    panel.scrollIntoView({ block: 'start', behavior: 'auto' });
    form.querySelector('[data-field="number"]').focus({ preventScroll: true });
  };
  return { toggle, panel, setOpen, open };
}
