// Settings → Privacy: the consents (opt-in switches), "Download my data" (an archive made in
// the background: the list is polled while one is being made and this section is on screen) and
// "Delete my account" (what stops it, or a confirmation dialog; a scheduled deletion can be
// cancelled until its day). Each part loads on its own: one that fails says so, the others work.
import * as api from './api.js';
import { t } from './i18n.js';
import { h, errorText, resultRegion, modalDialog } from './dom.js';
import { date, money, isMoney } from './format.js';

const CONSENTS = '/api/v1/me/consents';
const EXPORTS = '/api/v1/me/data-exports';
const DELETION = '/api/v1/me/deletion';
const PURPOSES = ['promotions', 'viewing_recommendations'];
const POLL_MS = 2000;
const POLL_LIMIT_MS = 5 * 60 * 1000;

const settle = (promise) => promise.then((value) => ({ value }), (err) => {
  if (err && err.handled) throw err;
  return { error: err };
});

function unavailable(err, testid) {
  return h('div', { class: 'notice muted', 'data-testid': testid },
    h('p', {}, t('privacy.unavailable')), h('p', {}, errorText(err)));
}

// --- consents ----------------------------------------------------------------------------------

function consentState(consent) {
  return consent.granted && consent.changed_at
    ? t('privacy.consents.givenOn', { date: date(consent.changed_at) })
    : consent.granted ? t('privacy.consents.given') : t('privacy.consents.notGiven');
}

function consentsPart(loaded) {
  const status = resultRegion('consents-status');
  const box = h('div', { class: 'consents' });
  if (loaded.error) {
    box.append(unavailable(loaded.error, 'consents-unavailable'));
  } else {
    const list = Array.isArray(loaded.value && loaded.value.data) ? loaded.value.data : [];
    const byPurpose = new Map(list.map((c) => [c.purpose, c]));
    const ordered = [...PURPOSES.filter((p) => byPurpose.has(p)).map((p) => byPurpose.get(p)),
      ...list.filter((c) => !PURPOSES.includes(c.purpose))];
    box.append(h('ul', { class: 'consent-list', 'data-testid': 'consent-list' }, ordered.map((consent) => {
      const id = `consent-${consent.purpose}`;
      const stateId = `${id}-state`;
      const whatId = `${id}-what`;
      const state = h('p', { class: 'hint consent-state', id: stateId, 'data-testid': 'consent-state' }, consentState(consent));
      const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'consent-error' });
      const input = h('input', {
        type: 'checkbox', role: 'switch', id, checked: Boolean(consent.granted),
        'aria-describedby': `${whatId} ${stateId}`, 'data-testid': 'consent-switch',
      });
      input.addEventListener('change', async () => {
        const granted = input.checked;
        input.disabled = true;
        problem.replaceChildren();
        try {
          const answer = await api.put(`${CONSENTS}/${encodeURIComponent(consent.purpose)}`, { granted });
          const now = answer && typeof answer.granted === 'boolean' ? answer : { ...consent, granted };
          input.checked = Boolean(now.granted);
          state.textContent = consentState(now);
          status.replaceChildren(h('p', { class: 'notice success' },
            t(now.granted ? 'privacy.consents.turnedOn' : 'privacy.consents.turnedOff', { purpose: t(`privacy.consents.${consent.purpose}.title`) })));
        } catch (err) {
          input.checked = !granted;
          if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
        } finally {
          input.disabled = false;
          input.focus();
        }
      });
      return h('li', { class: 'consent', 'data-testid': 'consent', 'data-purpose': consent.purpose },
        h('div', { class: 'checkbox switch-row' }, input, h('label', { for: id }, t(`privacy.consents.${consent.purpose}.title`))),
        h('p', { class: 'consent-what', id: whatId }, t(`privacy.consents.${consent.purpose}.what`)),
        state,
        problem);
    })));
  }
  return h('div', { class: 'privacy-part', 'data-testid': 'privacy-consents' },
    h('h3', { id: 'privacy-consents-title' }, t('privacy.consents.title')),
    h('p', { class: 'intro' }, t('privacy.consents.intro')),
    status,
    box);
}

// --- data exports ------------------------------------------------------------------------------

function kilobytes(size) {
  return Math.max(1, Math.ceil((Number(size) || 0) / 1024));
}

function exportItem(item) {
  let detail;
  if (item.status === 'ready') {
    detail = h('a', {
      class: 'button secondary small',
      href: `${EXPORTS}/${encodeURIComponent(item.id)}/download`,
      download: '',
      'data-testid': 'export-download',
    }, t('privacy.exports.download', { size: kilobytes(item.size), date: date(item.expires_at) }));
  } else {
    detail = h('span', { class: 'hint' }, t(`privacy.exports.statusText.${item.status}`));
  }
  return h('li', { class: 'export', 'data-testid': 'export', 'data-status': item.status },
    h('span', { class: 'export-when' }, t('privacy.exports.requested', { date: date(item.requested_at) })), ' ',
    h('span', { class: `badge ${item.status === 'ready' ? 'badge-default' : item.status === 'failed' ? 'badge-warning' : ''}`, 'data-testid': 'export-status' },
      t(`privacy.exports.status.${item.status}`)), ' ',
    detail);
}

function exportsPart(ctx, loaded, section) {
  const status = resultRegion('exports-status');
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'exports-error' });
  const list = h('div', { class: 'export-list-slot', 'aria-live': 'polite' });
  let timer = null;
  let pollingSince = 0;

  const onScreen = () => section.isConnected && (!ctx.isCurrent || ctx.isCurrent());
  const draw = (items) => {
    list.replaceChildren(items.length
      ? h('ul', { class: 'export-list', 'aria-labelledby': 'privacy-exports-title', 'data-testid': 'export-list' }, items.map(exportItem))
      : h('p', { class: 'muted', 'data-testid': 'exports-none' }, t('privacy.exports.none')));
    const pending = items.some((item) => item.status === 'pending');
    if (pending) schedule();
    else pollingSince = 0;
  };
  const poll = async () => {
    timer = null;
    if (!onScreen()) return; // the page was left: stop asking
    if (!section.getClientRects().length) { // another section is shown (a phone): ask when back
      pollingSince = Date.now();
      schedule();
      return;
    }
    try {
      const page = await api.get(EXPORTS, { redirectOn401: false });
      if (onScreen()) draw(Array.isArray(page && page.data) ? page.data : []);
    } catch (err) {
      if (err && err.status === 401) return;
      schedule();
    }
  };
  function schedule() {
    if (timer) return;
    if (!pollingSince) pollingSince = Date.now();
    if (Date.now() - pollingSince > POLL_LIMIT_MS) return; // still being made: a reload shows it
    timer = setTimeout(poll, POLL_MS);
  }

  const button = h('button', { type: 'button', class: 'button primary', 'data-testid': 'export-request' }, t('privacy.exports.request'));
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    problem.replaceChildren();
    try {
      await api.post(EXPORTS, {});
      status.replaceChildren(h('p', { class: 'notice success' }, t('privacy.exports.requestedNow')));
      const page = await api.get(EXPORTS);
      pollingSince = 0;
      draw(Array.isArray(page && page.data) ? page.data : []);
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      button.disabled = false;
    }
  });

  if (loaded.error) list.replaceChildren(unavailable(loaded.error, 'exports-unavailable'));
  else draw(Array.isArray(loaded.value && loaded.value.data) ? loaded.value.data : []);

  return h('div', { class: 'privacy-part', 'data-testid': 'privacy-exports' },
    h('h3', { id: 'privacy-exports-title' }, t('privacy.exports.title')),
    h('p', { class: 'intro' }, t('privacy.exports.intro')),
    status, problem,
    h('div', { class: 'actions' }, button),
    list);
}

// --- deletion ----------------------------------------------------------------------------------

function blockerItem(blocker) {
  const params = { ...(blocker.params || {}) };
  if (isMoney(params.amount)) params.amount = money(params.amount);
  else if (Number.isInteger(params.amount) && params.currency) params.amount = money({ amount: params.amount, currency: params.currency });
  const link = blocker.code === 'MONEY_OWED' || blocker.code === 'PAYMENT_PENDING'
    ? h('a', { href: '#/bills', 'data-testid': 'blocker-bills' }, t('privacy.deletion.toBills'))
    : h('a', { href: '#/support', 'data-testid': 'blocker-support' }, t('privacy.deletion.toSupport'));
  return h('li', { class: 'blocker', 'data-testid': 'deletion-blocker', 'data-code': blocker.code },
    h('p', {}, t(`privacy.deletion.blockers.${blocker.code}`, params)),
    h('p', {}, t(`privacy.deletion.todo.${blocker.code}`), ' ', link));
}

function confirmDeletion(days) {
  const { dialog, finish, answer } = modalDialog({
    labelledBy: 'deletion-confirm-title', describedBy: 'deletion-confirm-what', testid: 'deletion-dialog',
  });
  const yes = h('button', { type: 'button', class: 'button danger', 'data-testid': 'deletion-confirm', on: { click: () => finish(true) } }, t('privacy.deletion.confirm'));
  const no = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'deletion-keep', on: { click: () => finish(false) } }, t('privacy.deletion.keep'));
  dialog.append(
    h('h2', { id: 'deletion-confirm-title' }, t('privacy.deletion.confirmTitle')),
    h('div', { id: 'deletion-confirm-what' },
      h('p', {}, t('privacy.deletion.whatHappens', { days })),
      h('p', {}, t('privacy.deletion.whatIsKept'))),
    h('div', { class: 'actions' }, yes, no));
  document.body.append(dialog);
  dialog.showModal();
  no.focus();
  return answer;
}

function deletionPart(loaded) {
  const status = resultRegion('deletion-status');
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'deletion-error' });
  const body = h('div', { class: 'deletion-body', 'data-testid': 'deletion-body' });

  const focusFirstButton = () => {
    const first = body.querySelector('button');
    if (first) first.focus();
  };
  const draw = (state) => {
    const request = state.request;
    const days = state.cooling_off_days ?? 30;
    const blockers = Array.isArray(state.blockers) ? state.blockers : [];
    if (request && request.status === 'scheduled') {
      const cancel = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'deletion-cancel' }, t('privacy.deletion.cancel'));
      cancel.addEventListener('click', async () => {
        if (cancel.disabled) return;
        cancel.disabled = true;
        problem.replaceChildren();
        try {
          await api.del(DELETION);
          draw(await api.get(DELETION));
          status.replaceChildren(h('p', { class: 'notice success' }, t('privacy.deletion.cancelled')));
          focusFirstButton();
        } catch (err) {
          cancel.disabled = false;
          if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
        }
      });
      body.replaceChildren(
        h('p', { class: 'notice warning', 'data-testid': 'deletion-scheduled' }, t('privacy.deletion.scheduled', { date: date(request.due_at) })),
        h('p', {}, t('privacy.deletion.cancelUntil')),
        h('div', { class: 'actions' }, cancel));
      return;
    }
    if (request && (request.status === 'running' || request.status === 'done')) {
      body.replaceChildren(h('p', { class: 'notice warning', 'data-testid': 'deletion-running' }, t('privacy.deletion.running')));
      return;
    }
    if (blockers.length) {
      body.replaceChildren(
        h('p', { 'data-testid': 'deletion-blocked' }, t('privacy.deletion.blocked')),
        h('ul', { class: 'blocker-list', 'data-testid': 'deletion-blockers' }, blockers.map(blockerItem)));
      return;
    }
    const start = h('button', { type: 'button', class: 'button danger', 'data-testid': 'deletion-request' }, t('privacy.deletion.request'));
    start.addEventListener('click', async () => {
      if (start.disabled) return;
      problem.replaceChildren();
      if (!(await confirmDeletion(days))) {
        start.focus();
        return;
      }
      start.disabled = true;
      try {
        await api.post(DELETION, {}); // an old sign-in confirms it is them first (reauth.js)
        draw(await api.get(DELETION));
        status.replaceChildren(h('p', { class: 'notice success' }, t('privacy.deletion.requested')));
        focusFirstButton();
      } catch (err) {
        start.disabled = false;
        if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
        if (err && err.code === 'ACCOUNT_DELETION_BLOCKED') {
          try {
            draw(await api.get(DELETION));
          } catch {
            // the message says it already
          }
        }
      }
    });
    body.replaceChildren(
      h('p', {}, t('privacy.deletion.whatHappens', { days })),
      h('p', {}, t('privacy.deletion.whatIsKept')),
      h('div', { class: 'actions' }, start));
  };

  if (loaded.error) body.replaceChildren(unavailable(loaded.error, 'deletion-unavailable'));
  else draw(loaded.value || {});

  return h('div', { class: 'privacy-part', 'data-testid': 'privacy-deletion' },
    h('h3', { id: 'privacy-deletion-title' }, t('privacy.deletion.title')),
    status, problem, body);
}

/** The Privacy section of Settings: it loads its three parts itself. */
export async function privacySection(ctx) {
  const [consents, exports, deletion] = await Promise.all([
    settle(api.get(CONSENTS)), settle(api.get(EXPORTS)), settle(api.get(DELETION))]);
  const section = h('section', { class: 'card', 'aria-labelledby': 'privacy-title', 'data-testid': 'settings-privacy' });
  section.append(
    h('h2', { id: 'privacy-title' }, t('privacy.title')),
    consentsPart(consents),
    exportsPart(ctx, exports, section),
    deletionPart(deletion));
  return section;
}
