import * as api from '../api.js';
import { t, has, LANGUAGES } from '../i18n.js';
import {
  h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage,
  clearErrors, passwordProblem, errorText, sectionFeedback,
} from '../dom.js';
import { dateTime, parseDate, locale } from '../format.js';
import { paymentMethodsSection } from '../payment-methods.js';
import { topicLabel } from './notifications.js';
import { strongSignInSection } from '../strong-sign-in.js';
import { emailSettings } from '../email-settings.js';
import { privacySection } from '../privacy.js';
import { householdSection } from '../household.js';

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

// --- security: where the customer is signed in, and signing the others out -------------------

const SESSIONS = '/api/v1/me/sessions';

/** "Chrome on Linux", "Chrome", "Linux" or "Unknown device". */
export function deviceName(session) {
  const device = (session && session.device) || {};
  const browser = device.browser || null;
  const os = device.os || null;
  if (browser && os) return t('security.deviceOn', { browser, os });
  return browser || os || t('security.unknownDevice');
}

const RELATIVE_UNITS = [['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60]];

/** "5 minutes ago" / "vor 5 Minuten"; "now" under a minute (either way: clocks differ a little). */
export function relativeTime(value, now = Date.now()) {
  const parsed = parseDate(value);
  if (!parsed) return value ? String(value) : '';
  const seconds = Math.round((parsed.getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(0, 'second');
}

function methodText(method) {
  return has(`security.methods.${method}`) ? t(`security.methods.${method}`) : String(method || '');
}

function fact(label, content, testid) {
  return h('div', { class: 'session-fact' }, h('dt', {}, label), h('dd', { 'data-testid': testid }, content));
}

function sessionItem(session, onSignOut) {
  const name = deviceName(session);
  const current = Boolean(session.current);
  let button = null;
  if (!current) {
    button = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'session-sign-out',
      'aria-label': t('security.signOutLabel', { device: name, when: dateTime(session.created_at) }),
    }, t('security.signOut'));
    button.addEventListener('click', () => onSignOut(session, name, button));
  }
  return h('li', { class: 'session', 'data-testid': 'session', 'data-session-id': session.id, 'data-current': String(current) },
    h('div', { class: 'session-head' },
      h('h4', { class: 'session-device', 'data-testid': 'session-device' }, name),
      current ? h('span', { class: 'badge badge-default', 'data-testid': 'session-current' }, t('security.thisDevice')) : null),
    h('dl', { class: 'session-facts' },
      fact(t('security.method'), methodText(session.method), 'session-method'),
      fact(t('security.where'), session.client_ip || t('security.unknownPlace'), 'session-ip'),
      fact(t('security.signedIn'), h('time', { datetime: session.created_at }, dateTime(session.created_at)), 'session-created'),
      fact(t('security.lastActive'), h('time', { datetime: session.last_seen_at }, relativeTime(session.last_seen_at)), 'session-last-seen')),
    current
      ? h('p', { class: 'hint session-current-hint' }, t('security.currentHint'))
      : h('div', { class: 'actions' }, button));
}

/**
 * The Security section: two-step sign-in and passkeys (strong-sign-in.js), then the sessions,
 * which it loads itself and redraws after each change. A session limited to setting up two-step
 * sign-in gets the first part only.
 */
async function securitySection(ctx) {
  const strong = await strongSignInSection(ctx);
  if (ctx.session.scope === 'mfa_enrolment') {
    return h('section', { class: 'card', 'aria-labelledby': 'security-title', 'data-testid': 'settings-security' },
      h('h2', { id: 'security-title' }, t('security.title')), strong);
  }
  const titleId = 'security-title';
  const listTitleId = 'security-sessions-title';
  const { status, problem, say, fail } = sectionFeedback('security');
  const list = h('div', { class: 'session-list-slot' });
  const others = h('div', { class: 'session-others' });
  const load = async () => {
    const answer = await api.get(SESSIONS);
    return Array.isArray(answer && answer.data) ? answer.data : [];
  };

  let refresh;
  const onSignOut = async (session, name, button) => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await api.del(`${SESSIONS}/${encodeURIComponent(session.id)}`);
    } catch (err) {
      button.disabled = false;
      if (err && err.status === 404) {
        // it ended meanwhile (it expired, or was signed out elsewhere): the list catches up
        await refresh();
        say(t('security.alreadyEnded', { device: name }));
        return;
      }
      fail(err);
      return;
    }
    await refresh();
    say(t('security.signedOut', { device: name }));
  };

  const signOutOthers = h('button', { type: 'button', class: 'button danger', 'data-testid': 'security-sign-out-others' }, t('security.signOutOthers'));
  signOutOthers.addEventListener('click', async () => {
    if (signOutOthers.disabled) return;
    signOutOthers.disabled = true;
    let answer;
    try {
      answer = await api.post(`${SESSIONS}/sign-out-others`, {});
    } catch (err) {
      fail(err);
      return;
    } finally {
      signOutOthers.disabled = false;
    }
    const count = Number(answer && answer.revoked) || 0;
    await refresh();
    if (count === 1) say(t('security.signedOutOthersOne'));
    else if (count) say(t('security.signedOutOthers', { count }));
    else say(t('security.signedOutNone'));
  });

  const draw = (sessions) => {
    list.replaceChildren(sessions.length
      ? h('ul', { class: 'session-list', 'aria-labelledby': listTitleId, 'data-testid': 'session-list' },
        sessions.map((session) => sessionItem(session, onSignOut)))
      : h('p', { class: 'muted', 'data-testid': 'sessions-empty' }, t('security.none')));
    const anyOther = sessions.some((session) => !session.current);
    others.replaceChildren(anyOther
      ? h('div', { class: 'actions' }, signOutOthers)
      : h('p', { class: 'muted', 'data-testid': 'security-no-others' }, t('security.noOthers')));
  };
  refresh = async () => {
    try {
      draw(await load());
    } catch (err) {
      fail(err);
    }
  };

  let sessions = null;
  let loadError = null;
  try {
    sessions = await load();
  } catch (err) {
    if (err && err.handled) throw err;
    loadError = err;
  }
  if (sessions) draw(sessions);

  return h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'settings-security' },
    h('h2', { id: titleId }, t('security.title')),
    strong,
    sessions
      ? [
        h('p', { class: 'intro' }, t('security.intro')),
        status,
        problem,
        h('h3', { id: listTitleId }, t('security.sessionsTitle')),
        list,
        others]
      : h('div', { class: 'notice muted', 'data-testid': 'settings-security-unavailable' },
        h('p', {}, t('security.unavailable')),
        h('p', {}, errorText(loadError))));
}

/** Settings for a session limited to setting up two-step sign-in: Security only. */
async function enrolmentPage(ctx) {
  const security = await securitySection(ctx);
  return h('section', { class: 'page settings-page', 'data-testid': 'page-settings', 'data-section': 'security' },
    h('h1', {}, t('settings.title')),
    h('div', { class: 'settings-security', 'data-section-id': 'security' }, security));
}

export async function render(outer) {
  const ctx = {
    ...outer,
    // a second factor was set up: a limited session has its full rights now
    async enrolled() {
      if (outer.session.scope !== 'mfa_enrolment') return false;
      outer.session.scope = null;
      await outer.setAccount(await api.get('/api/v1/me'));
      return true;
    },
    fullRights() {
      outer.setFlash('security', 'success', 'strongSignIn.enrolmentDone');
      outer.navigate('#/settings/security');
    },
  };
  if (ctx.session.scope === 'mfa_enrolment') return enrolmentPage(ctx);
  // a member acting in a household has their own person-level sections only
  const acting = Boolean(ctx.session.account && ctx.session.account.acting);
  const [account, paymentMethods, preferences, security, privacy, household] = await Promise.all([
    api.get('/api/v1/me'),
    acting ? null : paymentMethodsSection(),
    // Settings still open when the notifier does not answer; the section says so.
    acting ? null : api.get(PREFERENCES).then((value) => ({ value }), (err) => {
      if (err && err.handled) throw err;
      return { error: err };
    }),
    securitySection(ctx),
    privacySection(ctx),
    acting ? null : householdSection(ctx),
  ]);
  ctx.session.account = account;
  ctx.refreshShell();
  const sections = acting ? ACTING_SECTIONS : SECTIONS;
  const profile = profileForm(ctx, account);
  const flash = ctx.takeFlash('settings-profile');
  if (flash) setMessage(profile, flash.kind, flash.text);
  const page = h('section', { class: 'page settings-page', 'data-testid': 'page-settings' },
    h('h1', {}, t('settings.title')),
    sectionNav(sections),
    h('div', { class: 'settings-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'profile-title', 'data-section-id': 'profile' },
        h('h2', { id: 'profile-title' }, t('settings.profile')),
        emailSettings(ctx, account),
        profile),
      h('section', { class: 'card', 'aria-labelledby': 'password-title', 'data-section-id': 'password' },
        h('h2', { id: 'password-title' }, t('settings.passwordTitle')),
        passwordForm())),
    acting ? null : h('div', { class: 'settings-payment', 'data-section-id': 'cards' }, paymentMethods),
    acting ? null : h('div', { class: 'settings-notifications', 'data-section-id': 'notifications' }, notificationsSection(preferences)),
    h('div', { class: 'settings-security', 'data-section-id': 'security' }, security),
    h('div', { class: 'settings-privacy', 'data-section-id': 'privacy' }, privacy),
    acting ? null : h('div', { class: 'settings-household', 'data-section-id': 'household' }, household));
  showSection(page, sections.includes((ctx.params || [])[0]) ? ctx.params[0] : 'profile', { scroll: false });
  return page;
}

// --- sections: on a phone one at a time, chosen in the section navigation; wider, all of them
// one after the other, the navigation jumping to each -------------------------------------------

const SECTIONS = ['profile', 'password', 'cards', 'notifications', 'security', 'privacy', 'household'];
const ACTING_SECTIONS = ['profile', 'password', 'security', 'privacy'];
const SECTION_LABELS = {
  profile: 'settings.section.profile',
  password: 'settings.section.password',
  cards: 'settings.section.payment',
  notifications: 'settings.section.notifications',
  security: 'settings.section.security',
  privacy: 'settings.section.privacy',
  household: 'settings.section.household',
};

function sectionNav(sections) {
  return h('nav', { class: 'section-nav', 'aria-label': t('settings.sectionsLabel'), 'data-testid': 'settings-sections' },
    h('ul', {}, sections.map((name) => h('li', {},
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
