// The Subscriptions tab: what the customer has (package, add-ons, equipment, renewal, what is
// scheduled), every change to it, and the catalog to subscribe from.
//
// Changes of package and add-ons are previewed first (the server prices them and changes
// nothing), then confirmed. The page offers actions by the subscription's status, but the
// server decides: when it refuses (409), its reason is shown next to the action.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import { h, field, radioGroup, clearErrors, setFieldError, errorText, onSubmit, value } from '../dom.js';
import { money, date, inputDate, isMoney } from '../format.js';
import {
  statusBadge, scheduleSentences, renewalText, pricePer, priceTable, effectText, suspendedNotice,
  setPriceDisplay, shownPrice, taxNote,
} from '../subscription-view.js';

const BASE = '/api/v1/subscriptions';

// What the page offers for each status (the lifecycle's state machine has the final word).
const ACTIONS = {
  active: ['change', 'addons', 'pause', 'cancel'],
  paused: ['resume', 'cancel'],
  suspended: ['cancel'],
  cancelled: [],
};

const can = (sub, action) => (ACTIONS[sub.status] || []).includes(action);
const subPath = (sub, ...rest) => [BASE, encodeURIComponent(sub.id), ...rest].join('/');

// --- errors next to an action ------------------------------------------------------------------

/** An always-present live region, so what is put in it later is announced; `action` (the
 * catalog rules' name for it: change_package, add_addon, pause…) words a refusal. */
function errorRegion(action = null) {
  return h('div', { class: 'action-error', 'data-testid': 'action-error', 'data-action': action, role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
}

/** A rule's refusal in the customer's language, by the action and code, from its params. */
function ruleText(action, code, params) {
  const key = `rules.${action}.${code}`;
  if (!action || !code || !has(key)) return null;
  const words = { ...(params || {}) };
  if (words.date) words.date = date(words.date);
  return t(key, words);
}

function reasonText(err, action) {
  // A refusal (409) names the rule: said by its code and params in the customer's language.
  return (err && ruleText(action, err.code, err.params)) || errorText(err);
}

/**
 * Show a failed action: field problems next to their controls (the server may name a field
 * by its path, e.g. "target.until" for the "until" input), the reason in the region.
 */
function showActionError(scope, region, err) {
  if (scope) clearErrors(scope);
  region.replaceChildren();
  if (!err || err.handled) return;
  const leftovers = [];
  for (const [name, problems] of Object.entries(err.fields || {})) {
    const short = name.split('.').pop();
    const shown = scope && (setFieldError(scope, name, problems) || setFieldError(scope, short, problems));
    if (!shown) leftovers.push(problems.join(' '));
  }
  region.append(h('p', {}, reasonText(err, region.dataset.action)));
  if (err.code === 'INSUFFICIENT_BALANCE') {
    region.append(h('p', {}, h('a', { href: '#/wallet', 'data-testid': 'insufficient-top-up' }, t('subscriptions.toWallet'))));
  }
  if (leftovers.length) region.append(h('ul', {}, leftovers.map((line) => h('li', {}, line))));
  const invalid = scope && scope.querySelector('[aria-invalid="true"]');
  if (invalid) (invalid.tagName === 'FIELDSET' ? invalid.querySelector('input') : invalid).focus();
}

function clearActionError(scope, region) {
  if (scope) clearErrors(scope);
  region.replaceChildren();
}

/** Disable a button while `work` runs (no double submits), with aria-busy on `busyEl`. */
async function busy(button, busyEl, work) {
  if (button.disabled) return undefined;
  button.disabled = true;
  if (busyEl) busyEl.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    if (busyEl) busyEl.removeAttribute('aria-busy');
  }
}

// --- the page's state and data -----------------------------------------------------------------

function createState(ctx, catalog) {
  const addonCache = new Map();
  return {
    ctx,
    catalog, // {packages, devices, error}
    flash: null, // {subscriptionId, node}: a result to show in that card after the next refresh
    packageByCode(code) {
      return (catalog.packages || []).find((p) => p.code === code) || null;
    },
    deviceModel(code) {
      const device = (catalog.devices || []).find((d) => d.code === code);
      return device ? device.model : code;
    },
    /** Add-ons the catalog allows with a package (cached per package for this page). */
    addonsFor(code) {
      if (!addonCache.has(code)) {
        const loading = api.get(`/api/v1/catalog/addons?package=${encodeURIComponent(code)}`)
          .then((answer) => (answer && Array.isArray(answer.data) ? answer.data : []));
        loading.catch(() => addonCache.delete(code));
        addonCache.set(code, loading);
      }
      return addonCache.get(code);
    },
  };
}

async function loadCatalog() {
  const [packages, devices] = await Promise.allSettled([
    api.get('/api/v1/catalog/packages'),
    api.get('/api/v1/catalog/devices'),
  ]);
  const failed = [packages, devices].find((r) => r.status === 'rejected');
  if (failed && failed.reason && failed.reason.handled) throw failed.reason;
  if (packages.status === 'fulfilled') setPriceDisplay(packages.value.price_display);
  const listed = packages.status === 'fulfilled' && Array.isArray(packages.value.data) ? packages.value.data : null;
  return {
    packages: listed,
    tax: listed && listed.length ? listed[0].tax : null, // one region for the whole answer
    devices: devices.status === 'fulfilled' && Array.isArray(devices.value.data) ? devices.value.data : [],
    error: packages.status === 'rejected' ? packages.reason : null,
  };
}

/** What each card offers, fetched together before drawing: the add-ons for each package a
 * changeable subscription has, and per subscription the packages it could change to. */
async function addonsForCards(state, subs) {
  const codes = [...new Set(subs.filter((s) => can(s, 'addons') && s.package).map((s) => s.package.code))];
  const changeable = subs.filter((s) => can(s, 'change'));
  const [lists, options] = await Promise.all([
    Promise.all(codes.map((code) => state.addonsFor(code).catch(() => null))),
    Promise.all(changeable.map((sub) => api.get(subPath(sub, 'package-options'))
      .then((answer) => (answer && Array.isArray(answer.data) ? answer.data : null))
      .catch((err) => {
        if (err && err.handled) throw err;
        return null;
      }))),
  ]);
  const choices = new Map(codes.map((code, i) => [code, lists[i]]));
  choices.packageOptions = new Map(changeable.map((sub, i) => [sub.id, options[i]]));
  return choices;
}

// --- preview, then confirm ---------------------------------------------------------------------

/**
 * The preview panel: every line, the amount due now, when it takes effect; Confirm sends
 * `confirm()` (with its own Idempotency-Key, kept for a retry after a network error), Cancel
 * drops the preview.
 */
function previewPanel({ idPrefix, title, preview, confirmLabel, onConfirm, onDiscard, action }) {
  const headingId = `${idPrefix}-preview-title`;
  const region = errorRegion(action);
  const confirm = h('button', { type: 'button', class: 'button primary', 'data-testid': 'confirm-change' }, confirmLabel || t('preview.confirm'));
  const discard = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'discard-preview' }, t('preview.cancel'));
  const panel = h('section', { class: 'preview', 'data-testid': 'change-preview', 'aria-labelledby': headingId },
    h('h4', { id: headingId, tabindex: '-1' }, title),
    h('p', { class: 'effect', 'data-testid': 'preview-effect' }, effectText(preview)),
    priceTable(preview),
    region,
    h('div', { class: 'actions' }, confirm, discard));
  confirm.addEventListener('click', () => busy(confirm, panel, async () => {
    clearActionError(null, region);
    try {
      await onConfirm();
    } catch (err) {
      showActionError(null, region, err);
    }
  }));
  discard.addEventListener('click', onDiscard);
  return panel;
}

function showPreview(slot, panel) {
  slot.replaceChildren(panel);
  panel.querySelector('h4').focus();
}

// --- a subscription card -----------------------------------------------------------------------

function fact(label, content, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, content));
}

function facts(sub) {
  const pkg = sub.package || {};
  const period = sub.current_period || {};
  const discount = shownPrice(pkg.taxed_discount, pkg.discount);
  const promotion = isMoney(discount) && discount.amount
    ? t('subscriptions.promotion', { amount: money(discount, { negate: true }) })
    : null;
  const rows = [
    fact(t('subscriptions.activated'), date(sub.activation_date), 'subscription-activation'),
    fact(t('subscriptions.billing'), t(sub.billing_period === 'year' ? 'subscriptions.yearly' : 'subscriptions.monthly')),
    fact(t('subscriptions.packagePrice'), [
      [pricePer(shownPrice(pkg.taxed_price, pkg.price), sub.billing_period), promotion].filter(Boolean).join(', '),
      h('span', { class: 'tax-note', 'data-testid': 'subscription-tax-note' }, taxNote(sub.tax)),
    ], 'subscription-price'),
  ];
  if (sub.status !== 'cancelled') {
    rows.push(fact(t('subscriptions.currentPeriod'), t('subscriptions.range', { start: date(period.start), end: date(period.end) }), 'subscription-period'));
    rows.push(fact(t('subscriptions.nextRenewal'), renewalText(sub), 'subscription-next-renewal'));
  } else if (sub.cancelled_at) {
    rows.push(fact(t('subscriptions.cancelledOn'), date(sub.cancelled_at), 'subscription-cancelled-at'));
  }
  if (sub.cancel_reason) rows.push(fact(t('subscriptions.cancelReason'), sub.cancel_reason));
  return h('dl', { class: 'pairs' }, rows);
}

function devicesList(sub) {
  const devices = sub.devices || [];
  return h('section', { class: 'sub-section', 'aria-labelledby': `${sub.id}-devices-title` },
    h('h3', { id: `${sub.id}-devices-title` }, t('subscriptions.devices')),
    h('div', { 'data-testid': 'subscription-devices' },
      devices.length
        ? h('ul', { class: 'plain-list' }, devices.map((d) => h('li', { 'data-testid': 'subscription-device', 'data-device-code': d.code || '' },
          h('span', { class: 'strong' }, d.model || d.code || ''),
          ' ',
          h('span', { class: 'muted' }, [
            has(`deviceKind.${d.kind}`) ? t(`deviceKind.${d.kind}`) : null,
            d.acquisition ? t(d.acquisition === 'purchase' ? 'subscriptions.bought' : 'subscriptions.rented') : null,
          ].filter(Boolean).join(', ')),
          h('br', {}),
          h('span', {}, `${t('subscriptions.serial')}: `),
          h('span', { class: 'serial', 'data-testid': 'device-serial' }, d.serial_number || '–'))))
        : h('p', { class: 'muted' }, t('subscriptions.noDevices'))));
}

function addonsSection(state, sub) {
  const addons = sub.addons || [];
  const region = errorRegion('remove_addon');
  const slot = h('div', { class: 'preview-slot' });
  const removable = can(sub, 'addons');
  const list = addons.length
    ? h('ul', { class: 'addon-list' }, addons.map((addon) => {
      const remove = removable
        ? h('button', {
          type: 'button',
          class: 'button secondary small',
          'data-testid': 'addon-remove',
          'data-addon-code': addon.code,
          'aria-label': t('subscriptions.removeAddon', { name: addon.name }),
        }, t('subscriptions.remove'))
        : null;
      if (remove) {
        remove.addEventListener('click', () => busy(remove, null, async () => {
          clearActionError(null, region);
          const path = subPath(sub, 'addons', encodeURIComponent(addon.code));
          let preview;
          try {
            preview = await api.del(`${path}?preview=true`);
          } catch (err) {
            showActionError(null, region, err);
            return;
          }
          const send = api.idempotentSender();
          showPreview(slot, previewPanel({
            action: 'remove_addon',
            idPrefix: `${sub.id}-remove-${addon.code}`,
            title: t('subscriptions.removePreviewTitle', { name: addon.name }),
            preview,
            confirmLabel: t('subscriptions.confirmRemove'),
            onConfirm: async () => {
              const result = await send('DELETE', path);
              finish(state, sub.id, t('result.addonRemoved', { name: addon.name }), result);
            },
            onDiscard: () => {
              slot.replaceChildren();
              remove.focus();
            },
          }));
        }));
      }
      return h('li', { 'data-testid': 'subscription-addon', 'data-addon-code': addon.code },
        h('span', { class: 'addon-name' }, addon.name || addon.code),
        h('span', { class: 'muted' }, pricePer(shownPrice(addon.taxed_price, addon.price), sub.billing_period)),
        remove);
    }))
    : h('p', { class: 'muted' }, t('subscriptions.noAddons'));
  return h('section', { class: 'sub-section', 'aria-labelledby': `${sub.id}-addons-title` },
    h('h3', { id: `${sub.id}-addons-title` }, t('subscriptions.addons')),
    h('div', { 'data-testid': 'subscription-addons' }, list),
    region,
    slot);
}

/** A disclosure (details/summary) holding one action's form. */
function disclosure(label, content, testid) {
  return h('details', { class: 'action', 'data-testid': testid }, h('summary', {}, label), h('div', { class: 'action-body' }, content));
}

/** A refused package change in the customer's language: by its code and params, else the server's words. */
function refusalText(refusal) {
  if (!refusal) return '';
  return ruleText('change_package', refusal.code, refusal.params) || refusal.reason || '';
}

/** One package a change could go to: price, upgrade/downgrade or current, and before any click
 * what the rules say (when it takes effect, or why not) and the equipment it brings. */
function packageChoice(F, sub, option, checked) {
  const pkg = option.package || {};
  const id = `${F}-package-${pkg.code}`;
  const noteId = `${id}-note`;
  const price = pricePer(periodPrice(pkg, sub.billing_period), sub.billing_period);
  const badge = option.current ? t('change.current') : option.kind ? t(`change.${option.kind}`) : null;
  const period = sub.current_period || {};
  const said = option.allowed
    ? [option.effective === 'now' ? t('change.effectiveNow') : t('change.effectivePeriodEnd', { date: date(period.end) }),
      (option.devices_added || []).length ? t('change.bringsDevices', { devices: option.devices_added.map((d) => d.model).join(', ') }) : null]
    : [option.current ? null : refusalText(option.refusal)];
  const note = said.filter(Boolean).join(' ');
  return h('div', {
    class: `radio package-choice${option.allowed ? '' : ' refused'}${option.current ? ' current' : ''}`,
    'data-testid': 'package-choice', 'data-package-code': pkg.code, 'data-allowed': String(Boolean(option.allowed)),
  },
  h('input', { type: 'radio', id, name: 'package', value: pkg.code, disabled: !option.allowed, checked, 'aria-describedby': note ? noteId : null }),
  h('label', { for: id },
    h('span', { class: 'choice-name' }, pkg.name || pkg.code),
    price ? h('span', { class: 'choice-price' }, price) : null,
    badge ? h('span', { class: `badge${option.current ? ' status-active' : ''}` }, badge) : null),
  note ? h('p', { id: noteId, class: option.allowed ? 'hint' : 'hint refusal', 'data-testid': 'package-choice-note' }, note) : null);
}

function changeForm(state, sub, options) {
  if (options === null || options === undefined) return h('p', { class: 'muted' }, t('change.loadFailed'));
  if (!options.some((o) => !o.current)) return h('p', { class: 'muted' }, t('subscriptions.noOtherPackages'));
  const F = `change-${sub.id}`;
  const first = options.find((o) => o.allowed);
  const region = errorRegion('change_package');
  const slot = h('div', { class: 'preview-slot' });
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'change-form' },
    h('fieldset', { class: 'field radio-group package-choices', 'data-testid': 'change-package', 'data-field': 'package' },
      h('legend', {}, t('change.target')),
      h('p', { class: 'tax-note' }, taxNote(sub.tax)),
      options.map((option) => packageChoice(F, sub, option, option === first)),
      h('p', { class: 'field-error', 'data-error-for': 'package' })),
    first ? radioGroup({
      form: F,
      name: 'when',
      legend: t('change.when'),
      value: 'asap',
      options: [
        { value: 'asap', label: t('change.asap') },
        { value: 'period_end', label: t('change.periodEnd', { date: date(sub.current_period && sub.current_period.end) }) },
      ],
    }) : null,
    region,
    first ? h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'preview-change' }, t('change.preview'))) : null,
    slot);
  // A preview belongs to the choice it was made for.
  form.addEventListener('change', () => slot.replaceChildren());
  onSubmit(form, async () => {
    clearActionError(form, region);
    slot.replaceChildren();
    const body = { package: value(form, 'package'), preview: true };
    if (value(form, 'when') === 'period_end') body.when = 'period_end';
    const target = options.find((o) => o.package && o.package.code === body.package);
    let preview;
    try {
      preview = await api.post(subPath(sub, 'change'), body);
    } catch (err) {
      showActionError(form, region, err);
      return;
    }
    const send = api.idempotentSender();
    const name = (target && target.package.name) || body.package;
    showPreview(slot, previewPanel({
      action: 'change_package',
      idPrefix: F,
      title: t('change.previewTitle', { name }),
      preview,
      onConfirm: async () => {
        const result = await send('POST', subPath(sub, 'change'), { ...body, preview: false });
        const message = result && result.scheduled
          ? t('result.changeScheduled', { name, date: date(result.effective_at || result.effective_date) })
          : t('result.changed', { name });
        finish(state, sub.id, message, result);
      },
      onDiscard: () => {
        slot.replaceChildren();
        const checked = form.querySelector('input[name="package"]:checked');
        if (checked) checked.focus();
      },
    }));
  });
  return form;
}

/** An entry's price for a billing period, as shown (gross or net; `prices` before taxes were sent). */
function periodPrice(entry, period) {
  const taxed = shownPrice((entry.taxed_prices || {})[period]);
  if (taxed) return taxed;
  const prices = entry.prices || {};
  const currency = entry.currency || (entry.price && entry.price.currency);
  if (Number.isInteger(prices[period]) && currency) return { amount: prices[period], currency };
  return entry.price;
}

function addAddonForm(state, sub, available) {
  if (available === null) return h('p', { class: 'muted' }, t('subscriptions.addonsUnavailable'));
  const have = new Set((sub.addons || []).map((a) => a.code));
  const choices = (available || []).filter((a) => !have.has(a.code));
  if (!choices.length) return h('p', { class: 'muted' }, t('subscriptions.noMoreAddons'));
  const F = `addon-${sub.id}`;
  const region = errorRegion('add_addon');
  const slot = h('div', { class: 'preview-slot' });
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'addon-add' },
    field({
      form: F,
      name: 'code',
      label: t('addon.choose'),
      value: choices[0].code,
      options: choices.map((a) => ({ value: a.code, label: [a.name, pricePer(periodPrice(a, sub.billing_period), sub.billing_period)].filter(Boolean).join(' – ') })),
    }),
    region,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary', 'data-testid': 'preview-addon' }, t('addon.preview'))),
    slot);
  form.addEventListener('change', () => slot.replaceChildren());
  onSubmit(form, async () => {
    clearActionError(form, region);
    slot.replaceChildren();
    const code = value(form, 'code');
    const name = (choices.find((a) => a.code === code) || {}).name || code;
    let preview;
    try {
      preview = await api.post(subPath(sub, 'addons'), { code, preview: true });
    } catch (err) {
      showActionError(form, region, err);
      return;
    }
    const send = api.idempotentSender();
    showPreview(slot, previewPanel({
      action: 'add_addon',
      idPrefix: F,
      title: t('addon.previewTitle', { name }),
      preview,
      onConfirm: async () => {
        const result = await send('POST', subPath(sub, 'addons'), { code, preview: false });
        finish(state, sub.id, t('result.addonAdded', { name }), result);
      },
      onDiscard: () => {
        slot.replaceChildren();
        form.querySelector('select').focus();
      },
    }));
  });
  return form;
}

function pauseForm(state, sub) {
  const F = `pause-${sub.id}`;
  const rules = (state.packageByCode(sub.package && sub.package.code) || {}).rules || {};
  const maxDays = Number.isInteger(rules.max_pause_days) && rules.max_pause_days > 0 ? rules.max_pause_days : null;
  const region = errorRegion('pause');
  const send = api.idempotentSender();
  const attrs = { min: inputDate(1) };
  if (maxDays) attrs.max = inputDate(maxDays);
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'pause-form' },
    field({
      form: F,
      name: 'until',
      label: t('pause.until'),
      type: 'date',
      hint: maxDays ? t('pause.maxDays', { days: maxDays }) : t('pause.hint'),
      attrs,
    }),
    region,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, t('pause.submit'))));
  onSubmit(form, async () => {
    clearActionError(form, region);
    const until = value(form, 'until').trim();
    if (until && !/^\d{4}-\d{2}-\d{2}$/.test(until)) {
      setFieldError(form, 'until', t('validation.date'));
      form.querySelector('input').focus();
      return;
    }
    if (until && until < inputDate(1)) {
      setFieldError(form, 'until', t('pause.afterToday'));
      form.querySelector('input').focus();
      return;
    }
    try {
      const result = await send('POST', subPath(sub, 'pause'), until ? { until } : {});
      const pausedUntil = (result && result.pause_until) || until;
      finish(state, sub.id, pausedUntil ? t('result.pausedUntil', { date: date(pausedUntil) }) : t('result.paused'));
    } catch (err) {
      showActionError(form, region, err);
    }
  });
  return form;
}

function cancelForm(state, sub) {
  const F = `cancel-${sub.id}`;
  const region = errorRegion('cancel');
  const send = api.idempotentSender();
  const reasonId = `${F}-reason`;
  const periodEnd = sub.current_period && sub.current_period.end;
  const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'cancel-form' },
    h('div', { class: 'field' },
      h('label', { for: reasonId }, t('cancel.reason')),
      h('textarea', { id: reasonId, name: 'reason', 'data-field': 'reason', rows: '3', maxlength: '500', required: true }),
      h('p', { class: 'field-error', id: `${reasonId}-error`, 'data-error-for': 'reason' })),
    radioGroup({
      form: F,
      name: 'when',
      legend: t('cancel.when'),
      value: sub.status === 'active' ? 'period_end' : 'now',
      options: [
        { value: 'period_end', label: t('cancel.periodEnd', { date: date(periodEnd) }) },
        { value: 'now', label: t('cancel.now') },
      ],
    }),
    region,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button danger' }, t('cancel.submit'))));
  onSubmit(form, async () => {
    clearActionError(form, region);
    const reason = value(form, 'reason').trim();
    const when = value(form, 'when') || 'period_end';
    if (!reason) {
      setFieldError(form, 'reason', t('validation.required'));
      form.querySelector('textarea').focus();
      return;
    }
    try {
      const result = await send('POST', subPath(sub, 'cancel'), { reason, when });
      const message = result && result.scheduled
        ? t('result.cancelScheduled', { date: date(result.effective_at || result.effective_date || periodEnd) })
        : t('result.cancelled');
      finish(state, sub.id, message, result && result.scheduled ? null : result);
    } catch (err) {
      showActionError(form, region, err);
    }
  });
  return form;
}

function resumeButton(state, sub) {
  const region = errorRegion('resume');
  const send = api.idempotentSender();
  const button = h('button', { type: 'button', class: 'button primary', 'data-testid': 'resume' }, t('resume.submit'));
  button.addEventListener('click', () => busy(button, null, async () => {
    clearActionError(null, region);
    try {
      await send('POST', subPath(sub, 'resume'));
      finish(state, sub.id, t('result.resumed'));
    } catch (err) {
      showActionError(null, region, err);
    }
  }));
  return h('div', { class: 'resume' }, button, region);
}

function actions(state, sub, addonChoices, packageOptions) {
  const parts = [];
  if (can(sub, 'resume')) parts.push(resumeButton(state, sub));
  if (can(sub, 'change')) parts.push(disclosure(t('change.title'), changeForm(state, sub, packageOptions), 'change-action'));
  if (can(sub, 'addons')) parts.push(disclosure(t('addon.title'), addAddonForm(state, sub, addonChoices), 'addon-action'));
  if (can(sub, 'pause')) parts.push(disclosure(t('pause.title'), pauseForm(state, sub), 'pause-action'));
  if (can(sub, 'cancel')) parts.push(disclosure(t('cancel.title'), cancelForm(state, sub), 'cancel-action'));
  if (!parts.length) return null;
  return h('section', { class: 'sub-section', 'aria-labelledby': `${sub.id}-actions-title` },
    h('h3', { id: `${sub.id}-actions-title` }, t('subscriptions.actions')),
    h('div', { class: 'action-list' }, parts));
}

function subscriptionCard(state, sub, addonChoices) {
  const pkg = sub.package || {};
  const titleId = `${sub.id}-title`;
  const schedule = scheduleSentences(sub);
  const result = h('div', { class: 'result', 'data-testid': 'action-result', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  if (state.flash && state.flash.subscriptionId === sub.id) {
    result.append(state.flash.node);
  }
  const card = h('article', { class: 'card sub-card', 'data-testid': 'subscription-card', 'data-subscription-id': sub.id, 'data-status': sub.status, 'aria-labelledby': titleId },
    h('header', { class: 'sub-head' },
      // the catalog's name in the customer's language; the subscription keeps the name it was sold under
      h('h2', { id: titleId, 'data-testid': 'subscription-package-name' }, (state.packageByCode(pkg.code) || pkg).name || pkg.code || ''),
      statusBadge(sub.status, { 'data-testid': 'subscription-status' })),
    suspendedNotice(sub, state.ctx.session.account && state.ctx.session.account.billing_type, { 'data-testid': 'subscription-suspended' }),
    result,
    facts(sub),
    schedule.length
      ? h('ul', { class: 'schedule', 'data-testid': 'subscription-schedule' }, schedule.map((line) => h('li', {}, line)))
      : null,
    h('div', { class: 'sub-columns' }, addonsSection(state, sub), devicesList(sub)),
    actions(state, sub, addonChoices.get(pkg.code), addonChoices.packageOptions && addonChoices.packageOptions.get(sub.id)));
  // The last result makes way once the customer starts something else on this card.
  card.addEventListener('click', (event) => {
    if (event.target.closest('summary, button')) result.replaceChildren();
  });
  return card;
}

/** After a change went through: remember its result for the card, then reload the list. */
function finish(state, subscriptionId, message, result) {
  const priced = result && Array.isArray(result.lines) && result.lines.length ? result : null;
  state.flash = {
    subscriptionId,
    node: h('div', { class: 'notice success' },
      h('p', { class: 'strong' }, message),
      priced ? priceTable(priced, { caption: t('result.charges') }) : null),
  };
  return state.refresh();
}

// --- browsing the catalog and subscribing ------------------------------------------------------

function packageOption(state, pkg, onChoose) {
  const monthly = periodPrice(pkg, 'month');
  const yearly = periodPrice(pkg, 'year');
  const channels = Array.isArray(pkg.channels) ? pkg.channels : [];
  const included = (pkg.included_devices || []).map((code) => state.deviceModel(code));
  const titleId = `pkg-${pkg.code}-title`;
  const choose = h('button', { type: 'button', class: 'button primary', 'data-testid': 'choose-package', 'aria-describedby': titleId },
    t('browse.choose', { name: pkg.name }));
  choose.addEventListener('click', () => onChoose(pkg, choose));
  return h('article', { class: 'card package-option', 'data-testid': 'package-option', 'data-package-code': pkg.code, 'aria-labelledby': titleId },
    h('h3', { id: titleId }, pkg.name),
    h('p', { class: 'price' }, pricePer(monthly, 'month')),
    isMoney(yearly) && yearly !== monthly ? h('p', { class: 'muted' }, t('browse.orYearly', { amount: pricePer(yearly, 'year') })) : null,
    pkg.description ? h('p', {}, pkg.description) : null,
    included.length ? h('p', { class: 'strong' }, t('browse.includes', { devices: included.join(', ') })) : null,
    channels.length
      ? h('details', { class: 'channels' },
        h('summary', {}, t('browse.channels', { count: channels.length })),
        h('ul', { class: 'channel-list' }, channels.map((c) => h('li', {}, c))))
      : null,
    h('div', { class: 'actions' }, choose));
}

async function subscribeForm(state, pkg, { onDone, onClose }) {
  const F = `subscribe-${pkg.code}`;
  const region = errorRegion();
  const send = api.idempotentSender();
  let addons = [];
  let addonsError = null;
  try {
    addons = await state.addonsFor(pkg.code);
  } catch (err) {
    if (err && err.handled) throw err;
    addonsError = err;
  }
  const devices = state.catalog.devices || [];
  const titleId = `${F}-title`;

  const addonLabels = [];
  const addonBoxes = addons.map((addon) => {
    const id = `${F}-addon-${addon.code}`;
    const label = h('label', { for: id });
    addonLabels.push([label, addon]);
    return h('div', { class: 'checkbox' },
      h('input', { type: 'checkbox', id, name: 'addons', value: addon.code, 'data-testid': 'subscribe-addon' }),
      label);
  });
  const setAddonLabels = (period) => {
    for (const [label, addon] of addonLabels) label.textContent = [addon.name, pricePer(periodPrice(addon, period), period)].filter(Boolean).join(' – ');
  };
  setAddonLabels('month');

  const deviceOptions = [{ value: 'none', label: t('subscribe.noDevice') }];
  for (const device of devices) {
    const rental = shownPrice(device.taxed_rental_price, device.rental_price);
    const sale = shownPrice(device.taxed_sale_price, device.sale_price);
    if (isMoney(rental)) {
      deviceOptions.push({ value: `${device.code}:rental`, label: t('subscribe.rent', { model: device.model, amount: pricePer(rental, 'month') }) });
    }
    if (isMoney(sale)) {
      deviceOptions.push({ value: `${device.code}:purchase`, label: t('subscribe.buy', { model: device.model, amount: money(sale) }) });
    }
  }
  const included = (pkg.included_devices || []).map((code) => state.deviceModel(code));

  const close = h('button', { type: 'button', class: 'button secondary' }, t('subscribe.close'));
  const form = h('form', { class: 'form card subscribe', novalidate: true, 'data-testid': 'subscribe-form', 'data-package-code': pkg.code, 'aria-labelledby': titleId },
    h('h3', { id: titleId, tabindex: '-1' }, t('subscribe.title', { name: pkg.name })),
    radioGroup({
      form: F,
      name: 'billing_period',
      legend: t('subscribe.period'),
      value: 'month',
      options: [
        { value: 'month', label: t('subscribe.monthly', { amount: pricePer(periodPrice(pkg, 'month'), 'month') }) },
        { value: 'year', label: t('subscribe.yearly', { amount: pricePer(periodPrice(pkg, 'year'), 'year') }) },
      ],
    }),
    h('fieldset', { class: 'field checkbox-group', 'data-field': 'addons' },
      h('legend', {}, t('subscribe.addons')),
      addonsError ? h('p', { class: 'muted' }, t('subscriptions.addonsUnavailable'))
        : addonBoxes.length ? addonBoxes : h('p', { class: 'muted' }, t('subscribe.noAddons')),
      h('p', { class: 'field-error', 'data-error-for': 'addons' })),
    devices.length
      ? radioGroup({ form: F, name: 'device', legend: t('subscribe.device'), value: 'none', options: deviceOptions })
      : null,
    included.length ? h('p', { class: 'hint' }, t('browse.includes', { devices: included.join(', ') })) : null,
    region,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, t('subscribe.submit')), close));
  // Errors about "devices" belong to the device radio group.
  const deviceGroup = form.querySelector('fieldset[data-field="device"]');
  if (deviceGroup) deviceGroup.setAttribute('data-field', 'devices');
  const deviceError = form.querySelector('[data-error-for="device"]');
  if (deviceError) deviceError.setAttribute('data-error-for', 'devices');

  form.addEventListener('change', (event) => {
    if (event.target.name === 'billing_period') setAddonLabels(event.target.value);
  });
  close.addEventListener('click', onClose);
  onSubmit(form, async () => {
    clearActionError(form, region);
    const body = {
      package: pkg.code,
      billing_period: value(form, 'billing_period') || 'month',
      addons: [...form.querySelectorAll('input[name="addons"]:checked')].map((box) => box.value),
      devices: [],
    };
    const device = value(form, 'device');
    if (device && device !== 'none') {
      const [code, acquisition] = device.split(':');
      body.devices.push({ code, acquisition });
    }
    try {
      const created = await send('POST', BASE, body);
      await onDone(created);
    } catch (err) {
      showActionError(form, region, err);
    }
  });
  return form;
}

/** The packages side by side: price (as shown: gross with the tax named above, or net), channels,
 * included equipment and whether (and how long) it may be paused, from the catalog's rules. */
function packageComparison(state) {
  const titleId = 'compare-title';
  const pauseText = (rules) => {
    if (!rules || rules.pause_allowed === false) return t('browse.compare.no');
    const days = rules.max_pause_days;
    return Number.isInteger(days) && days > 0 ? t('browse.compare.pauseUpTo', { days }) : t('browse.compare.pauseAny');
  };
  return h('div', { class: 'table-wrap compare-wrap', role: 'region', tabindex: '0', 'aria-labelledby': titleId, 'data-testid': 'package-comparison' },
    h('table', { class: 'compare-table' },
      h('caption', { id: titleId }, t('browse.compare.title')),
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, t('browse.compare.package')),
          h('th', { scope: 'col', class: 'amount' }, t('browse.compare.price')),
          h('th', { scope: 'col', class: 'amount' }, t('browse.compare.channels')),
          h('th', { scope: 'col' }, t('browse.compare.devices')),
          h('th', { scope: 'col' }, t('browse.compare.pause')))),
      h('tbody', {}, state.catalog.packages.map((pkg) => {
        const devices = (pkg.included_devices || []).map((code) => state.deviceModel(code));
        return h('tr', { 'data-testid': 'comparison-row', 'data-package-code': pkg.code },
          h('th', { scope: 'row' }, pkg.name),
          h('td', { class: 'amount', 'data-testid': 'comparison-price' }, pricePer(periodPrice(pkg, 'month'), 'month')),
          h('td', { class: 'amount', 'data-testid': 'comparison-channels' }, String((pkg.channels || []).length)),
          h('td', { 'data-testid': 'comparison-devices' }, devices.length ? devices.join(', ') : t('browse.compare.none')),
          h('td', { 'data-testid': 'comparison-pause' }, pauseText(pkg.rules)));
      }))));
}

function browseSection(state) {
  const titleId = 'browse-title';
  const slot = h('div', { class: 'subscribe-slot' });
  const section = h('section', { class: 'browse', 'aria-labelledby': titleId, 'data-testid': 'browse' },
    h('h2', { id: titleId }, t('browse.title')));
  if (!state.catalog.packages) {
    section.append(h('p', { class: 'notice error', role: 'alert' }, errorText(state.catalog.error)));
    return section;
  }
  if (!state.catalog.packages.length) {
    section.append(h('p', { class: 'muted' }, t('browse.empty')));
    return section;
  }
  const region = errorRegion();
  let opener = null;
  const onChoose = async (pkg, button) => {
    opener = button;
    region.replaceChildren();
    let form;
    try {
      form = await subscribeForm(state, pkg, {
        onDone: async (created) => {
          slot.replaceChildren();
          const name = (created && created.package && created.package.name) || pkg.name;
          state.flash = null;
          await finish(state, created && created.id, t('result.subscribed', { name }), created && created.charges);
        },
        onClose: () => {
          slot.replaceChildren();
          if (opener) opener.focus();
        },
      });
    } catch (err) {
      showActionError(null, region, err);
      return;
    }
    slot.replaceChildren(form);
    form.scrollIntoView({ block: 'start', behavior: 'auto' });
    form.querySelector('h3').focus({ preventScroll: true });
  };
  section.append(
    h('p', { class: 'intro' }, t('browse.intro')),
    h('p', { class: 'tax-note', 'data-testid': 'tax-note' }, taxNote(state.catalog.tax)),
    packageComparison(state),
    h('div', { class: 'package-grid' }, state.catalog.packages.map((pkg) => packageOption(state, pkg, onChoose))),
    region,
    slot);
  return section;
}

// --- the page ----------------------------------------------------------------------------------

/**
 * A recommendation's change (Insights, the dashboard) in the normal flow: the add-on's removal
 * or the package change chosen and its preview asked for, as if the customer had clicked; when
 * the subscription no longer allows it, the page says so.
 */
function openSuggested(list, pageStatus, subscriptionId, type, code) {
  if (!list.isConnected) return;
  const card = list.querySelector(`[data-subscription-id="${CSS.escape(subscriptionId)}"]`);
  let opened = false;
  if (card && type === 'remove_addon') {
    const remove = card.querySelector(`[data-testid="addon-remove"][data-addon-code="${CSS.escape(code)}"]`);
    if (remove) {
      remove.click();
      opened = true;
    }
  } else if (card && type === 'change_package') {
    const details = card.querySelector('[data-testid="change-action"]');
    const choice = details && details.querySelector(`input[name="package"][value="${CSS.escape(code)}"]`);
    if (choice && !choice.disabled) {
      details.open = true;
      choice.checked = true;
      details.querySelector('form').requestSubmit();
      opened = true;
    }
  }
  if (opened) card.scrollIntoView({ block: 'start', behavior: 'auto' });
  else pageStatus.replaceChildren(h('p', { 'data-testid': 'suggestion-gone' }, t('insights.applyGone')));
}

export async function render(ctx) {
  const [subsAnswer, catalog] = await Promise.all([api.get(BASE), loadCatalog()]);
  const state = createState(ctx, catalog);
  const subs = Array.isArray(subsAnswer && subsAnswer.data) ? subsAnswer.data : [];
  const list = h('div', { class: 'sub-list', 'data-testid': 'subscription-list' });
  const pageStatus = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'page-status' });

  const draw = (items, addonChoices) => {
    const cards = items.map((sub) => subscriptionCard(state, sub, addonChoices));
    list.replaceChildren(...(cards.length ? cards : [h('p', { class: 'notice', 'data-testid': 'no-subscriptions' }, t('subscriptions.none'))]));
  };

  state.refresh = async () => {
    let items;
    let addonChoices;
    try {
      const answer = await api.get(BASE);
      items = Array.isArray(answer && answer.data) ? answer.data : [];
      addonChoices = await addonsForCards(state, items);
    } catch (err) {
      if (err && err.handled) return;
      pageStatus.replaceChildren(h('p', {}, t('subscriptions.refreshFailed')), h('p', {}, errorText(err)));
      return;
    }
    if (!ctx.isCurrent()) return;
    pageStatus.replaceChildren();
    draw(items, addonChoices);
    const flashed = state.flash && list.querySelector(`[data-subscription-id="${CSS.escape(state.flash.subscriptionId || '')}"]`);
    state.flash = null;
    if (flashed) {
      const result = flashed.querySelector('[data-testid="action-result"]');
      flashed.scrollIntoView({ block: 'start', behavior: 'auto' });
      result.focus({ preventScroll: true });
    }
  };

  draw(subs, await addonsForCards(state, subs));
  // #/subscriptions/apply/<id>/<remove_addon|change_package>/<code>: a recommendation's Apply
  // opens the change it suggests, previewed, once the page is on screen
  const [applyTo, applyType, applyCode] = ctx.params || [];
  if (applyTo) setTimeout(() => openSuggested(list, pageStatus, applyTo, applyType, applyCode), 0);
  return h('section', { class: 'page wide', 'data-testid': 'page-subscriptions' },
    h('h1', {}, t('subscriptions.title')),
    pageStatus,
    h('section', { 'aria-labelledby': 'yours-title', class: 'yours' },
      h('h2', { id: 'yours-title', class: 'visually-hidden' }, t('subscriptions.yours')),
      list),
    browseSection(state));
}
