// The Notifications tab: the portal inbox, newest first (GET /api/v1/notifications, paged with
// next_cursor). Unread ones are marked in words ("Unread"), not by colour alone. A notification
// is read when its title is opened (its whole text is shown) or with "Mark as read"; "Mark all
// as read" reads every one. Each answer carries the unread count, which the navigation badge
// shows at once (ctx.setUnread).
//
// While the tab is open the app's light poll may learn of new notifications: the page then says
// so and offers to show them, rather than moving the list under the customer's hands.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import { h, errorText } from '../dom.js';
import { dateTime } from '../format.js';
import { icon, topicIcon } from '../icons.js';

const BASE = '/api/v1/notifications';
const PAGE_SIZE = 20;
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);
const readPath = (id) => `${BASE}/${encodeURIComponent(id)}/read`;

/** A topic's name in the UI language (the server's label is English; unknown topics: it). */
export function topicLabel(topic, serverLabel) {
  const key = `notifications.topics.${topic}`;
  return has(key) ? t(key) : String(serverLabel || topic || '');
}

/** "You have 1 unread notification." / "… 3 unread notifications." / "… no unread …". */
export function unreadSentence(count) {
  if (!count) return t('notifications.noneUnread');
  return count === 1 ? t('notifications.unreadOne') : t('notifications.unreadOther', { count });
}

/** An always-present live region, so what is put in it later is announced. */
function statusRegion(testid) {
  return h('div', { class: 'result', 'data-testid': testid, role: 'status', 'aria-live': 'polite', tabindex: '-1' });
}

function errorRegion(testid) {
  return h('div', { class: 'action-error', 'data-testid': testid, role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
}

export async function render(ctx) {
  const first = await api.get(`${BASE}?limit=${PAGE_SIZE}`);
  const state = {
    unread: Number.isInteger(first && first.unread_count) ? first.unread_count : null,
    items: new Map(), // id → {note, el, refresh, pending}
    cursor: null,
  };
  if (state.unread !== null) ctx.setUnread(state.unread);

  const titleId = 'notifications-title';
  const summary = h('p', { class: 'intro', 'data-testid': 'notifications-summary' });
  const status = statusRegion('notifications-status');
  const problem = errorRegion('notifications-error');
  const arrived = h('div', { class: 'arrived-slot', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'notification-list', 'data-testid': 'notification-list', 'aria-labelledby': titleId });
  const wrap = h('div', {});
  const empty = h('div', { class: 'empty', 'data-testid': 'notifications-empty' },
    h('p', { class: 'strong' }, t('notifications.empty')),
    h('p', { class: 'muted' }, t('notifications.emptyHint')));
  const markAll = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'notifications-mark-all' }, t('notifications.markAllRead'));
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'notifications-load-more' }, t('notifications.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const toolbar = h('div', { class: 'actions toolbar' }, markAll);

  const say = (text) => {
    status.replaceChildren(h('p', { class: 'notice success' }, text));
  };

  const drawCount = () => {
    summary.textContent = state.unread === null ? '' : unreadSentence(state.unread);
    const anyUnread = state.unread === null
      ? [...state.items.values()].some((item) => !item.note.read_at)
      : state.unread > 0;
    toolbar.hidden = !anyUnread;
  };

  const counted = (count) => {
    if (!Number.isInteger(count)) return;
    state.unread = count;
    ctx.setUnread(count);
    drawCount();
  };

  /** Mark one read on the server; the item, the count and the badge follow the answer. */
  const markRead = async (item, { announce = true } = {}) => {
    if (item.pending || item.note.read_at) return;
    item.pending = true;
    item.el.setAttribute('aria-busy', 'true');
    problem.replaceChildren();
    status.replaceChildren();
    try {
      const answer = await api.post(readPath(item.note.id));
      item.note = { ...item.note, read_at: (answer && answer.read_at) || new Date().toISOString() };
      item.refresh();
      counted(answer && answer.unread_count);
      if (announce) say(t('notifications.markedRead', { title: item.note.title }));
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      item.pending = false;
      item.el.removeAttribute('aria-busy');
    }
  };

  const itemFor = (note) => {
    const id = note.id;
    const bodyId = `notification-body-${id}`;
    const titleButton = h('button', {
      type: 'button',
      class: 'notification-toggle',
      'data-testid': 'notification-title',
      'aria-expanded': 'false',
      'aria-controls': bodyId,
    }, note.title || '');
    const unreadMark = h('span', { class: 'badge badge-unread', 'data-testid': 'notification-unread' }, t('notifications.unread'));
    const body = h('p', { class: 'notification-body', id: bodyId, 'data-testid': 'notification-body' }, note.body || '');
    const markButton = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'notification-mark-read',
      'aria-label': t('notifications.markReadLabel', { title: note.title || '' }),
    }, icon('check'), h('span', { class: 'button-label' }, t('notifications.markRead')));
    const actions = h('div', { class: 'notification-actions' });
    const el = h('li', { class: 'notification', 'data-testid': 'notification', 'data-notification-id': id, 'data-topic': note.topic || '' },
      h('div', { class: 'notification-head' },
        topicIcon(note.topic),
        h('h2', { class: 'notification-title' }, titleButton),
        unreadMark),
      h('p', { class: 'notification-meta' },
        h('span', { 'data-testid': 'notification-topic' }, topicLabel(note.topic)),
        ' · ',
        h('time', { datetime: note.created_at || '', 'data-testid': 'notification-time' }, dateTime(note.created_at))),
      body,
      actions);
    const item = { note, el, pending: false };
    item.refresh = () => {
      const isUnread = !item.note.read_at;
      el.dataset.unread = String(isUnread);
      unreadMark.hidden = !isUnread;
      actions.replaceChildren(...(isUnread ? [markButton] : []));
    };
    // Opening a notification shows all of it, and reads it.
    titleButton.addEventListener('click', () => {
      const open = titleButton.getAttribute('aria-expanded') !== 'true';
      titleButton.setAttribute('aria-expanded', String(open));
      el.dataset.open = String(open);
      if (open) markRead(item, { announce: false });
    });
    markButton.addEventListener('click', async () => {
      if (markButton.disabled) return;
      markButton.disabled = true;
      const hadFocus = document.activeElement === markButton;
      await markRead(item);
      markButton.disabled = false;
      // The button goes once read: keep the keyboard on this notification.
      if (hadFocus && !markButton.isConnected) titleButton.focus();
    });
    item.refresh();
    state.items.set(id, item);
    return el;
  };

  const draw = (page, { append } = {}) => {
    const fresh = dataOf(page).filter((note) => note && note.id && !state.items.has(note.id));
    const rows = fresh.map(itemFor);
    if (append) list.append(...rows);
    else list.replaceChildren(...rows);
    wrap.replaceChildren(list.children.length ? list : empty);
    state.cursor = page && page.has_more && page.next_cursor ? page.next_cursor : null;
    moreSlot.replaceChildren(...(state.cursor ? [more] : []));
    drawCount();
    return rows;
  };

  more.addEventListener('click', async () => {
    if (more.disabled || !state.cursor) return;
    more.disabled = true;
    more.setAttribute('aria-busy', 'true');
    problem.replaceChildren();
    try {
      const page = await api.get(`${BASE}?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(state.cursor)}`);
      const rows = draw(page, { append: true });
      counted(page && page.unread_count);
      // The button has gone: go on at the first new notification.
      if (!state.cursor && rows.length) rows[0].querySelector('button').focus();
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      more.disabled = false;
      more.removeAttribute('aria-busy');
    }
  });

  markAll.addEventListener('click', async () => {
    if (markAll.disabled) return;
    markAll.disabled = true;
    problem.replaceChildren();
    try {
      const answer = await api.post(`${BASE}/read-all`);
      const now = new Date().toISOString();
      for (const item of state.items.values()) {
        if (!item.note.read_at) {
          item.note = { ...item.note, read_at: now };
          item.refresh();
        }
      }
      counted(answer && Number.isInteger(answer.unread_count) ? answer.unread_count : 0);
      say(t('notifications.allMarkedRead'));
      status.focus(); // the button has gone
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      markAll.disabled = false;
    }
  });

  // New notifications found by the app's poll while this page is open.
  const section = h('section', { class: 'page', 'data-testid': 'page-notifications' });
  const onUnread = (event) => {
    if (!section.isConnected) {
      window.removeEventListener('portal:unread', onUnread);
      return;
    }
    const count = event.detail && event.detail.count;
    if (!Number.isInteger(count) || state.unread === null || count <= state.unread) return;
    state.unread = count;
    drawCount();
    const show = h('button', { type: 'button', class: 'button primary small', 'data-testid': 'notifications-show-new' }, t('notifications.showNew'));
    show.addEventListener('click', () => ctx.navigate('#/notifications'));
    arrived.replaceChildren(h('div', { class: 'notice', 'data-testid': 'notifications-arrived' },
      h('p', {}, t('notifications.arrived')), show));
  };
  window.addEventListener('portal:unread', onUnread);

  draw(first);
  section.append(
    h('div', { class: 'page-head' },
      h('h1', { id: titleId }, t('notifications.title')),
      h('a', { href: '#/settings/notifications', class: 'panel-link', 'data-testid': 'notifications-settings-link' }, t('notifications.settingsLink'))),
    summary,
    toolbar,
    arrived,
    status,
    problem,
    wrap,
    moreSlot);
  return section;
}
