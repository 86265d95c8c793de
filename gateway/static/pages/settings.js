import * as api from '../api.js';
import { t, LANGUAGES } from '../i18n.js';
import {
  h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage, clearErrors,
  passwordProblem, errorText,
} from '../dom.js';
import { paymentMethodsSection } from '../payment-methods.js';
import { topicLabel } from './notifications.js';

const ADDRESS_PARTS = ['line1', 'line2', 'city', 'postal_code', 'country'];

function addressOf(account) {
  const address = account.address || {};
  return Object.fromEntries(ADDRESS_PARTS.map((part) => [part, address[part] || '']));
}

function profileForm(ctx, account) {
  const address = addressOf(account);
  const F = 'profile';
  const form = h('form', { class: 'form', 'data-testid': 'settings-profile-form', novalidate: true, 'aria-labelledby': 'profile-title' },
    formMessage(),
    h('p', { class: 'readonly' }, h('span', { class: 'readonly-label' }, `${t('settings.email')}: `), h('span', { 'data-testid': 'settings-email' }, account.email)),
    field({ form: F, name: 'name', label: t('settings.name'), value: account.name || '', attrs: { autocomplete: 'name' } }),
    field({ form: F, name: 'phone', label: t('settings.phone'), type: 'tel', value: account.phone || '', hint: t('phone.hint'), attrs: { autocomplete: 'tel' } }),
    h('fieldset', { class: 'group' },
      h('legend', {}, t('settings.address')),
      field({ form: F, name: 'address.line1', label: t('settings.line1'), value: address.line1, attrs: { autocomplete: 'address-line1' } }),
      field({ form: F, name: 'address.line2', label: t('settings.line2'), value: address.line2, attrs: { autocomplete: 'address-line2' } }),
      h('div', { class: 'row' },
        field({ form: F, name: 'address.postal_code', label: t('settings.postalCode'), value: address.postal_code, attrs: { autocomplete: 'postal-code' } }),
        field({ form: F, name: 'address.city', label: t('settings.city'), value: address.city, attrs: { autocomplete: 'address-level2' } })),
      field({
        form: F, name: 'address.country', label: t('settings.country'), value: address.country, hint: t('settings.countryHint'),
        attrs: { autocomplete: 'country', maxlength: '2', class: 'short', autocapitalize: 'characters' },
      }),
      h('p', { class: 'field-error', id: 'profile-address-error', 'data-error-for': 'address' })),
    field({ form: F, name: 'language', label: t('settings.language'), value: account.language, options: LANGUAGES.map((l) => ({ value: l, lang: l, label: t(`language.${l}`) })) }),
    h('div', { class: 'actions' }, submitButton(t('settings.save'))));
  // Errors about the address as a whole ("address": [...]) show under the fieldset.
  form.querySelector('fieldset.group').setAttribute('data-field', 'address');

  onSubmit(form, async () => {
    const current = ctx.session.account;
    const before = addressOf(current);
    const changes = {};
    const problems = {};

    const name = value(form, 'name').trim();
    if (!name) problems.name = t('validation.required');
    if (name !== (current.name || '')) changes.name = name;

    const phone = value(form, 'phone').trim();
    if (phone !== (current.phone || '')) changes.phone = phone || null;

    const after = Object.fromEntries(ADDRESS_PARTS.map((part) => [part, value(form, `address.${part}`).trim()]));
    after.country = after.country.toUpperCase();
    const empty = ADDRESS_PARTS.every((part) => !after[part]);
    if (!empty) {
      for (const part of ['line1', 'city', 'country']) if (!after[part]) problems[`address.${part}`] = t('validation.required');
      if (after.country && !/^[A-Z]{2}$/.test(after.country)) problems['address.country'] = t('validation.country');
    }
    before.country = before.country.toUpperCase();
    if (ADDRESS_PARTS.some((part) => after[part] !== before[part])) {
      changes.address = empty ? null : { ...after, line2: after.line2 || null };
    }

    const language = value(form, 'language');
    if (language !== current.language) changes.language = language;

    if (showProblems(form, problems)) return;
    if (!Object.keys(changes).length) {
      setMessage(form, 'success', t('settings.noChanges'));
      return;
    }
    try {
      const account = await api.patch('/api/v1/me', changes);
      const languageChanged = account.language !== current.language;
      await ctx.setAccount(account);
      if (languageChanged) {
        // Re-render everything in the new language, then confirm.
        ctx.setFlash('settings-profile', 'success', 'settings.saved');
        ctx.navigate('#/settings');
        return;
      }
      ctx.refreshShell();
      clearErrors(form);
      setMessage(form, 'success', t('settings.saved'));
    } catch (err) {
      showApiError(form, err);
    }
  });
  return form;
}

function passwordForm() {
  const F = 'password';
  const form = h('form', { class: 'form', 'data-testid': 'settings-password-form', novalidate: true, 'aria-labelledby': 'password-title' },
    formMessage(),
    field({ form: F, name: 'current_password', label: t('settings.currentPassword'), type: 'password', attrs: { autocomplete: 'current-password' } }),
    field({ form: F, name: 'new_password', label: t('settings.newPassword'), type: 'password', hint: t('password.rules'), attrs: { autocomplete: 'new-password', maxlength: '128' } }),
    field({ form: F, name: 'confirm_password', label: t('settings.confirmPassword'), type: 'password', attrs: { autocomplete: 'new-password', maxlength: '128' } }),
    h('div', { class: 'actions' }, submitButton(t('settings.changePassword'))));

  onSubmit(form, async () => {
    const body = { current_password: value(form, 'current_password'), new_password: value(form, 'new_password') };
    const confirm = value(form, 'confirm_password');
    const problems = {};
    if (!body.current_password) problems.current_password = t('validation.required');
    const pw = passwordProblem(body.new_password);
    if (pw) problems.new_password = pw;
    if (!confirm) problems.confirm_password = t('validation.required');
    else if (!pw && confirm !== body.new_password) problems.confirm_password = t('validation.passwordMismatch');
    if (showProblems(form, problems)) return;
    try {
      await api.post('/api/v1/me/password', body);
      form.reset();
      clearErrors(form);
      setMessage(form, 'success', t('settings.passwordChanged'));
    } catch (err) {
      showApiError(form, err, { fieldFor: { INVALID_CREDENTIALS: 'current_password', WEAK_PASSWORD: 'new_password' } });
    }
  });
  return form;
}

// --- notifications: per topic, the portal inbox and e-mail on or off ---------------------------

const PREFERENCES = '/api/v1/me/notification-preferences';
const CHANNELS = ['portal', 'email'];
const prefId = (topic, channel) => `pref-${String(topic).replace(/[^a-zA-Z0-9_-]/g, '-')}-${channel}`;

/**
 * A table of topics × channels. A locked topic always reaches the inbox (its checkbox is
 * disabled and says why); its e-mail can be turned off. Saving sends only what changed (PUT),
 * and the answer (the full list) is what the table shows afterwards.
 */
function notificationsForm(preferences) {
  const F = 'notification-settings';
  const titleId = 'notification-settings-title';
  let saved = new Map(); // "topic:channel" → enabled, as the server last said
  const rows = h('tbody', {});
  const form = h('form', { class: 'form', 'data-testid': 'settings-notifications-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    h('table', { class: 'prefs-table', 'data-testid': 'notification-preferences' },
      h('caption', { class: 'visually-hidden' }, t('notificationSettings.caption')),
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, t('notificationSettings.topic')),
          CHANNELS.map((channel) => h('th', { scope: 'col', class: 'pref-cell' }, t(`notificationSettings.channel.${channel}`))))),
      rows),
    h('p', { class: 'hint', id: `${F}-locked-hint` }, t('notificationSettings.lockedExplained')),
    h('div', { class: 'actions' }, submitButton(t('notificationSettings.save'))));

  const draw = (preferences) => {
    saved = new Map();
    rows.replaceChildren(...preferences.map((pref) => {
      const label = topicLabel(pref.topic, pref.label);
      const lockedId = prefId(pref.topic, 'locked');
      return h('tr', { 'data-testid': 'preference-row', 'data-topic': pref.topic, 'data-locked': String(Boolean(pref.locked)) },
        h('th', { scope: 'row', class: 'pref-topic' },
          h('span', { class: 'pref-topic-name' }, label),
          pref.locked ? h('span', { class: 'hint pref-locked', id: lockedId, 'data-testid': 'preference-locked' }, t('notificationSettings.locked')) : null),
        CHANNELS.map((channel) => {
          const id = prefId(pref.topic, channel);
          const locked = Boolean(pref.locked) && channel === 'portal';
          const on = locked || Boolean(pref[channel]);
          saved.set(`${pref.topic}:${channel}`, on);
          return h('td', { class: 'pref-cell' },
            h('div', { class: 'checkbox' },
              h('input', {
                type: 'checkbox',
                id,
                name: id,
                checked: on,
                disabled: locked,
                'data-topic': pref.topic,
                'data-channel': channel,
                'data-testid': `preference-${channel}`,
                'aria-describedby': locked ? `${lockedId} ${F}-locked-hint` : null,
              }),
              // The column header names the channel on wide screens; the label says it all.
              h('label', { for: id },
                h('span', { class: 'visually-hidden' }, `${label}: `),
                h('span', { class: 'pref-channel-name' }, t(`notificationSettings.channel.${channel}`)))));
        }));
    }));
  };
  draw(preferences);

  onSubmit(form, async () => {
    clearErrors(form);
    const changes = [...form.querySelectorAll('input[type="checkbox"][data-topic]')]
      .filter((box) => !box.disabled && box.checked !== saved.get(`${box.dataset.topic}:${box.dataset.channel}`))
      .map((box) => ({ topic: box.dataset.topic, channel: box.dataset.channel, enabled: box.checked }));
    if (!changes.length) {
      setMessage(form, 'success', t('settings.noChanges'));
      return;
    }
    try {
      const answer = await api.request('PUT', PREFERENCES, { body: { preferences: changes } });
      if (answer && Array.isArray(answer.preferences)) draw(answer.preferences);
      else changes.forEach((c) => saved.set(`${c.topic}:${c.channel}`, c.enabled));
      setMessage(form, 'success', t('notificationSettings.saved'));
    } catch (err) {
      showApiError(form, err);
    }
  });
  return form;
}

function notificationsSection(loaded) {
  const titleId = 'notification-settings-title';
  const preferences = loaded.value && Array.isArray(loaded.value.preferences) ? loaded.value.preferences : null;
  return h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'settings-notifications' },
    h('h2', { id: titleId }, t('notificationSettings.title')),
    preferences
      ? [h('p', { class: 'intro' }, t('notificationSettings.intro')), notificationsForm(preferences)]
      : h('div', { class: 'notice muted', 'data-testid': 'settings-notifications-unavailable' },
        h('p', {}, t('notificationSettings.unavailable')),
        h('p', {}, errorText(loaded.error))));
}

export async function render(ctx) {
  const [account, paymentMethods, preferences] = await Promise.all([
    api.get('/api/v1/me'),
    paymentMethodsSection(),
    // Settings still open when the notifier does not answer; the section says so.
    api.get(PREFERENCES).then((value) => ({ value }), (err) => {
      if (err && err.handled) throw err;
      return { error: err };
    }),
  ]);
  ctx.session.account = account;
  ctx.refreshShell();
  const profile = profileForm(ctx, account);
  const flash = ctx.takeFlash('settings-profile');
  if (flash) setMessage(profile, flash.kind, flash.text);
  const page = h('section', { class: 'page settings-page', 'data-testid': 'page-settings' },
    h('h1', {}, t('settings.title')),
    sectionNav(),
    h('div', { class: 'settings-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'profile-title', 'data-section-id': 'profile' },
        h('h2', { id: 'profile-title' }, t('settings.profile')),
        profile),
      h('section', { class: 'card', 'aria-labelledby': 'password-title', 'data-section-id': 'password' },
        h('h2', { id: 'password-title' }, t('settings.passwordTitle')),
        passwordForm())),
    h('div', { class: 'settings-payment', 'data-section-id': 'cards' }, paymentMethods),
    h('div', { class: 'settings-notifications', 'data-section-id': 'notifications' }, notificationsSection(preferences)));
  showSection(page, SECTIONS.includes((ctx.params || [])[0]) ? ctx.params[0] : 'profile', { scroll: false });
  return page;
}

// --- sections: on a phone one at a time, chosen in the section navigation; wider, all of them
// one after the other, the navigation jumping to each -------------------------------------------

const SECTIONS = ['profile', 'password', 'cards', 'notifications'];
const SECTION_LABELS = { profile: 'settings.section.profile', password: 'settings.section.password', cards: 'settings.section.payment', notifications: 'settings.section.notifications' };

function sectionNav() {
  return h('nav', { class: 'section-nav', 'aria-label': t('settings.sectionsLabel'), 'data-testid': 'settings-sections' },
    h('ul', {}, SECTIONS.map((name) => h('li', {},
      h('button', {
        type: 'button',
        class: 'section-link',
        'data-section-target': name,
        'data-testid': `settings-section-${name}`,
        on: {
          click(event) {
            showSection(event.currentTarget.closest('.settings-page'), name, { scroll: true });
          },
        },
      }, t(SECTION_LABELS[name]))))));
}

function showSection(page, name, { scroll }) {
  page.dataset.section = name;
  page.querySelectorAll('[data-section-target]').forEach((button) => {
    if (button.dataset.sectionTarget === name) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  });
  if (!scroll) return;
  const heading = page.querySelector(`[data-section-id="${name}"] h2`);
  if (heading && !window.matchMedia('(max-width: 40rem)').matches) {
    // all sections are shown: go to the one chosen, and take the keyboard there
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ block: 'start' });
  }
}
