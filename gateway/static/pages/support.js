// The Support tab. `#/support`: search the FAQ, raise an issue, and the customer's requests
// (paged). `#/support/<ticket id>`: one request with its status, team, the incident it belongs
// to, its resolution, its history, and a comment box.
//
// Raising an issue: the category decides what else is asked (a category whose
// `required_fields` name `subscription_id` asks which subscription is affected), and picking
// one shows the FAQ entries of that category first ("Did this answer your question?"), so a
// customer whose question is answered need not send anything. Sending is one attempt with its
// own Idempotency-Key (api.idempotentSender): when the outcome is unknown (the network failed,
// or a 5xx), sending the same form again reuses the key and cannot raise the ticket twice.
//
// The server decides what a customer sees of a ticket's history (no internal notes, no
// escalations); this page shows what it is given, and never an entry marked internal.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, clearErrors, errorText, value, showNestedError,
  resultRegion, pagedRows, onLoadMore, latestReload,
} from '../dom.js';
import { money, isMoney, dateTime } from '../format.js';

const BASE = '/api/v1/tickets';
const PAGE_SIZE = 20;
export const STATUSES = ['new', 'routed', 'acknowledged', 'in_progress', 'waiting_on_customer', 'resolved', 'closed'];
export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'];
const SUBJECT_MAX = 200;
const TEXT_MAX = 5000;

const ticketPath = (id, ...rest) => [BASE, encodeURIComponent(id), ...rest].join('/');
export const ticketHash = (id) => `#/support/${encodeURIComponent(id)}`;
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);
const isUnknownOutcome = (err) => Boolean(err && (err.status === 0 || err.status >= 500));

// --- small pieces, shared with the agent console (ops-support.js) -------------------------------

/** A ticket status in words (`keys`: the customer's wording, or the agents'). */
export function statusText(status, keys = 'ticketStatus') {
  const key = `${keys}.${status}`;
  return has(key) ? t(key) : String(status || '');
}

export function statusBadge(status, attrs = {}, keys = 'ticketStatus') {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: `badge ticket-status ticket-status-${known}`, 'data-status': status || '', ...attrs },
    statusText(status, keys));
}

/** "P2 · High" */
export function priorityText(priority) {
  const key = `support.priority.${priority}`;
  return has(key) ? t(key) : String(priority || '');
}

export function priorityBadge(priority, attrs = {}) {
  const known = PRIORITIES.includes(priority) ? priority.toLowerCase() : 'unknown';
  return h('span', { class: `badge priority priority-${known}`, 'data-priority': priority || '', ...attrs }, priorityText(priority));
}

/** A team's name: known teams in the UI language, others by their id. */
export function teamText(team) {
  if (!team) return t('support.noTeam');
  const key = `support.team.${team}`;
  return has(key) ? t(key) : String(team);
}

export function ticketNumber(ticket) {
  return t('support.number', { number: ticket.number ?? '' });
}

/** A labelled textarea with an optional hint and an error slot (as dom.js's `field`). */
export function textareaField({ form, name, label, hint, value: initial = '', rows = 4, maxlength = TEXT_MAX, attrs = {} }) {
  const id = `${form}-${name}`;
  const hintId = hint ? `${id}-hint` : null;
  const control = h('textarea', {
    id, name, rows: String(rows), maxlength: String(maxlength), 'data-field': name, 'aria-describedby': hintId, ...attrs,
  });
  control.value = initial;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    control,
    h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name }));
}

export function errorRegion(testid) {
  return h('div', { class: 'action-error', 'data-testid': testid, role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
}

function fact(label, content, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, content));
}

/** Who wrote or did a history entry. */
function actorText(actor, { ops }) {
  if (!actor || !actor.type || actor.type === 'system') return t('support.actor.system');
  if (actor.type === 'customer') return actor.name || (ops ? t('support.actor.customer') : t('support.actor.you'));
  return actor.name || t('support.actor.agent');
}

function fromTo(data, label) {
  return t('support.history.change', {
    from: label(data && data.from), to: label(data && data.to),
  });
}

function escalationTarget(target) {
  if (!target) return '';
  if (typeof target === 'string') return teamText(target);
  if (target.type === 'lead') return t('support.history.teamLead');
  return teamText(target.team);
}

/**
 * One history entry in words: [a short title, the text under it or null]. `names` maps account
 * ids to names (assignees, on the agents' side).
 */
export function describeEntry(entry, { ops = false, names = new Map(), me = null, incident = null } = {}) {
  const data = entry.data || {};
  const statusKeys = ops ? 'opsSupport.status' : 'ticketStatus';
  switch (entry.kind) {
    case 'created': return [t('support.history.created'), null];
    case 'routed': return [t('support.history.routed', { team: teamText(data.team) }), null];
    case 'acknowledged': return [t('support.history.acknowledged'), null];
    case 'status_changed':
      return [t('support.history.statusChanged'), fromTo(data, (s) => statusText(s, statusKeys))];
    case 'comment':
      return [entry.internal ? t('support.history.internalNote') : t('support.history.comment'), entry.text || ''];
    case 'assigned': {
      const who = data.assignee
        ? (data.assignee === me ? t('opsSupport.you') : names.get(data.assignee) || data.assignee)
        : null;
      return [who ? t('support.history.assigned', { assignee: who }) : t('support.history.unassigned'), null];
    }
    case 'priority_changed': return [t('support.history.priorityChanged'), fromTo(data, priorityText)];
    case 'escalated':
      return [t('support.history.escalated', {
        step: data.step ?? '', round: data.round ?? '', target: escalationTarget(data.target),
      }), null];
    case 'alerted': return [t('support.history.alerted', { team: teamText(data.team) }), data.dedup_key || null];
    case 'silenced': return [t('support.history.silenced'), data.silence_id || null];
    case 'incident':
      return [t('support.history.incident'), incident && incident.id === data.incident_id && incident.title
        ? incident.title : data.incident_id || null];
    case 'resolved': return [t('support.history.resolved'), entry.text || null];
    case 'reopened': return [t('support.history.reopened'), null];
    case 'closed': return [t('support.history.closed'), null];
    case 'credited':
      return [t('support.history.credited', { amount: isMoney(data.amount) ? money(data.amount) : '' }), null];
    default: return [String(entry.kind || ''), entry.text || null];
  }
}

/**
 * A history as a timeline, oldest first: `describe(entry)` gives its [title, text, details],
 * `actor(entry.actor)` who did it; internal notes are marked (only the agents' view has them).
 */
export function timeline(entries, { labelledBy, describe, actor }) {
  if (!entries.length) return h('p', { class: 'muted', 'data-testid': 'history-empty' }, t('support.historyEmpty'));
  return h('ol', { class: 'timeline', 'data-testid': 'ticket-history', 'aria-labelledby': labelledBy },
    entries.map((entry) => {
      const [title, text, details] = describe(entry);
      const internal = Boolean(entry.internal);
      return h('li', {
        class: `timeline-entry kind-${String(entry.kind || 'unknown').replace(/[^a-z_]/g, '')}${internal ? ' is-internal' : ''}`,
        'data-testid': 'history-entry',
        'data-kind': entry.kind || '',
        'data-internal': String(internal),
      },
      h('p', { class: 'timeline-head' },
        h('span', { class: 'timeline-title', 'data-testid': 'history-title' }, title),
        internal ? h('span', { class: 'badge badge-internal', 'data-testid': 'history-internal' }, t('opsSupport.internalBadge')) : null),
      h('p', { class: 'timeline-meta' },
        h('span', { 'data-testid': 'history-actor' }, actor(entry.actor)),
        ' · ',
        h('time', { datetime: entry.at || '' }, dateTime(entry.at))),
      text ? h('p', { class: `timeline-text${entry.kind === 'comment' || entry.kind === 'resolved' ? ' message' : ''}`, 'data-testid': 'history-text' }, text) : null,
      details || null);
    }));
}

/** The customer's history of a request (never the internal notes). */
function historyList(entries, { incident, labelledBy } = {}) {
  const shown = (Array.isArray(entries) ? entries : []).filter((entry) => !entry.internal);
  return timeline(shown, {
    labelledBy,
    describe: (entry) => describeEntry(entry, { ops: false, incident }),
    actor: (who) => actorText(who, { ops: false }),
  });
}

// --- the FAQ -----------------------------------------------------------------------------------

/** FAQ entries as question/answer disclosures. */
function faqList(entries, testid) {
  return h('ul', { class: 'faq-list', 'data-testid': testid },
    entries.map((entry) => h('li', {},
      h('details', { class: 'faq', 'data-testid': 'faq-item', 'data-faq-id': entry.id || '', 'data-category': entry.category || '' },
        h('summary', { 'data-testid': 'faq-question' }, entry.question || ''),
        h('p', { class: 'faq-answer', 'data-testid': 'faq-answer' }, entry.answer || '')))));
}

function faqCard() {
  const F = 'faq';
  const titleId = 'faq-title';
  const results = resultRegion('faq-results');
  const form = h('form', { class: 'form faq-form', 'data-testid': 'faq-form', role: 'search', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    h('div', { class: 'inline-fields' },
      field({
        form: F, name: 'q', type: 'search', label: t('support.faqSearch'), hint: t('support.faqSearchHint'),
        attrs: { autocomplete: 'off', maxlength: '200', 'data-testid': 'faq-query' },
      }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'faq-submit' }, t('support.faqSubmit')))));
  let searches = 0;
  onSubmit(form, async () => {
    const q = value(form, 'q').trim();
    if (showProblems(form, q ? {} : { q: t('support.faqEmptyQuery') })) return;
    clearErrors(form);
    const search = ++searches;
    let page;
    try {
      page = await api.get(`/api/v1/faq?q=${encodeURIComponent(q)}`);
    } catch (err) {
      if (search === searches) showNestedError(form, err);
      return;
    }
    if (search !== searches) return;
    const entries = dataOf(page);
    results.replaceChildren(
      h('p', { class: 'muted', 'data-testid': 'faq-count' }, entries.length
        ? t(entries.length === 1 ? 'support.faqFoundOne' : 'support.faqFound', { count: entries.length, query: q })
        : t('support.faqNone', { query: q })),
      entries.length ? faqList(entries, 'faq-result-list') : null);
  });
  return h('section', { class: 'card faq-card', 'aria-labelledby': titleId, 'data-testid': 'faq' },
    h('h2', { id: titleId }, t('support.faqTitle')),
    h('p', { class: 'intro' }, t('support.faqIntro')),
    form,
    results);
}

// --- raising an issue --------------------------------------------------------------------------

function subscriptionLabel(sub) {
  const pkg = sub.package || {};
  const name = pkg.name || pkg.code || sub.id;
  return sub.status && sub.status !== 'active' && has(`subscriptionStatus.${sub.status}`)
    ? t('support.subscriptionWithStatus', { name, status: t(`subscriptionStatus.${sub.status}`) })
    : name;
}

function raiseCard(state) {
  const F = 'ticket';
  const titleId = 'raise-title';
  const section = h('section', { class: 'card raise-card', 'aria-labelledby': titleId, 'data-testid': 'raise' },
    h('h2', { id: titleId }, t('support.raiseTitle')));
  if (state.categoriesError) {
    section.append(h('div', { class: 'notice muted', 'data-testid': 'raise-unavailable' },
      h('p', {}, t('support.raiseUnavailable')),
      h('p', {}, errorText(state.categoriesError))));
    return section;
  }
  const categories = state.categories.filter((c) => c && c.code && c.active !== false);
  const byCode = new Map(categories.map((c) => [c.code, c]));
  const subs = state.subscriptions;

  const categoryField = field({
    form: F, name: 'category', label: t('support.category'),
    options: [{ value: '', label: t('support.chooseCategory') }, ...categories.map((c) => ({ value: c.code, label: c.name || c.code }))],
    attrs: { 'data-testid': 'ticket-category' },
  });
  const categorySelect = categoryField.querySelector('select');
  const descriptionId = `${F}-category-description`;
  const categoryAbout = h('p', { class: 'hint category-about', id: descriptionId, 'data-testid': 'ticket-category-description', 'aria-live': 'polite' });
  categorySelect.setAttribute('aria-describedby', descriptionId);
  categoryField.insertBefore(categoryAbout, categoryField.querySelector('.field-error'));

  const subscriptionField = field({
    form: F, name: 'subscription_id', label: t('support.subscription'),
    hint: subs.length ? t('support.subscriptionHint') : t(state.subscriptionsError ? 'support.subscriptionsUnavailable' : 'support.noSubscriptions'),
    options: [{ value: '', label: t('support.chooseSubscription') }, ...subs.map((sub) => ({ value: sub.id, label: subscriptionLabel(sub) }))],
    attrs: { 'data-testid': 'ticket-subscription' },
  });
  subscriptionField.hidden = true;
  subscriptionField.querySelector('select').setAttribute('aria-required', 'true');

  const suggestions = h('div', { class: 'suggestions-slot', 'data-testid': 'ticket-suggestions', role: 'status', 'aria-live': 'polite' });
  const send = api.idempotentSender();
  const result = resultRegion('raise-result');

  const form = h('form', { class: 'form', 'data-testid': 'ticket-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    categoryField,
    subscriptionField,
    suggestions,
    field({
      form: F, name: 'subject', label: t('support.subject'), hint: t('support.subjectHint', { max: SUBJECT_MAX }),
      attrs: { maxlength: String(SUBJECT_MAX), autocomplete: 'off', 'data-testid': 'ticket-subject' },
    }),
    textareaField({
      form: F, name: 'description', label: t('support.description'), hint: t('support.descriptionHint'), rows: 6,
      attrs: { 'data-testid': 'ticket-description' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ticket-submit' }, t('support.send'))));

  const needsSubscription = (category) => Boolean(category && Array.isArray(category.required_fields)
    && category.required_fields.includes('subscription_id'));

  // The category's description, the subscription when it is needed, and its FAQ entries.
  let lookups = 0;
  const onCategory = async () => {
    const category = byCode.get(categorySelect.value);
    categoryAbout.textContent = category ? (category.description || '') : '';
    subscriptionField.hidden = !needsSubscription(category);
    if (subscriptionField.hidden) subscriptionField.querySelector('select').value = '';
    const lookup = ++lookups;
    suggestions.replaceChildren();
    if (!category) return;
    let page;
    try {
      page = await api.get(`/api/v1/faq?category=${encodeURIComponent(category.code)}`);
    } catch (err) {
      return; // suggestions are a help, not a step: the form works without them
    }
    const entries = dataOf(page);
    if (lookup !== lookups || !entries.length) return;
    suggestions.replaceChildren(h('section', { class: 'suggestions', 'aria-labelledby': 'suggestions-title', 'data-category': category.code },
      h('h3', { id: 'suggestions-title' }, t('support.suggestionsTitle')),
      h('p', { class: 'muted' }, t('support.suggestionsIntro')),
      faqList(entries, 'suggestion-list'),
      h('p', { class: 'muted' }, t('support.suggestionsStill'))));
  };
  categorySelect.addEventListener('change', onCategory);

  const reset = () => {
    form.reset();
    clearErrors(form);
    categoryAbout.textContent = '';
    subscriptionField.hidden = true;
    suggestions.replaceChildren();
    lookups += 1;
  };

  onSubmit(form, async () => {
    result.replaceChildren();
    form.removeAttribute('data-outcome');
    const category = byCode.get(value(form, 'category'));
    const subject = value(form, 'subject').trim();
    const description = value(form, 'description').trim();
    const subscription = value(form, 'subscription_id');
    const problems = {};
    if (!category) problems.category = t('validation.required');
    if (needsSubscription(category) && !subscription) problems.subscription_id = t('support.subscriptionRequired');
    if (!subject) problems.subject = t('validation.required');
    else if (subject.length > SUBJECT_MAX) problems.subject = t('support.tooLong', { max: SUBJECT_MAX });
    if (!description) problems.description = t('validation.required');
    else if (description.length > TEXT_MAX) problems.description = t('support.tooLong', { max: TEXT_MAX });
    if (showProblems(form, problems)) {
      form.setAttribute('data-outcome', 'invalid');
      return;
    }
    clearErrors(form);
    const body = { category: category.code, subject, description };
    if (!subscriptionField.hidden && subscription) body.subscription_id = subscription;
    let ticket;
    try {
      ticket = await send('POST', BASE, body);
    } catch (err) {
      if (err && err.handled) return;
      showNestedError(form, err);
      form.setAttribute('data-outcome', isUnknownOutcome(err) ? 'unknown' : 'failed');
      if (isUnknownOutcome(err)) {
        form.querySelector('[data-testid="form-message"]').append(h('p', {}, t('support.outcomeUnknown')));
      }
      return;
    }
    form.setAttribute('data-outcome', 'succeeded');
    reset();
    result.replaceChildren(h('div', { class: 'notice success', 'data-testid': 'raise-success' },
      h('p', { class: 'strong' }, t('support.raised', { number: ticket.number ?? '' })),
      h('p', {}, t('support.raisedTeam', { team: teamText(ticket.team) })),
      h('p', {}, h('a', { href: ticketHash(ticket.id), 'data-testid': 'raise-success-link' }, t('support.viewTicket', { number: ticket.number ?? '' })))));
    result.focus();
    state.reloadTickets(ticket.id);
  });

  section.append(h('p', { class: 'intro' }, t('support.raiseIntro')), form, result);
  return section;
}

// --- my requests -------------------------------------------------------------------------------

function ticketRow(ticket, highlighted) {
  return h('tr', {
    'data-testid': 'ticket-row',
    'data-ticket-id': ticket.id,
    'data-number': String(ticket.number ?? ''),
    'data-status': ticket.status || '',
    class: highlighted ? 'is-new' : null,
    'data-new': highlighted ? 'true' : null,
  },
  h('th', { scope: 'row', 'data-label': t('support.numberColumn') },
    h('a', { href: ticketHash(ticket.id), class: 'serial', 'data-testid': 'ticket-link', 'aria-label': t('support.openTicketLabel', { number: ticket.number ?? '', subject: ticket.subject || '' }) },
      ticketNumber(ticket)),
    highlighted ? h('span', { class: 'badge badge-new' }, t('support.newEntry')) : null),
  h('td', { 'data-label': t('support.subject'), class: 'ticket-subject', 'data-testid': 'ticket-row-subject' }, ticket.subject || ''),
  h('td', { 'data-label': t('support.status') }, statusBadge(ticket.status, { 'data-testid': 'ticket-row-status' })),
  h('td', { 'data-label': t('support.priorityColumn'), 'data-testid': 'ticket-row-priority' }, priorityText(ticket.priority)),
  h('td', { 'data-label': t('support.teamColumn'), 'data-testid': 'ticket-row-team' }, teamText(ticket.team)),
  h('td', { 'data-label': t('support.updated'), class: 'when' },
    h('time', { datetime: ticket.updated_at || '', 'data-testid': 'ticket-row-updated' }, dateTime(ticket.updated_at))));
}

function ticketsCard(state, firstPage, loadError) {
  const titleId = 'tickets-title';
  const body = h('tbody', {});
  const table = h('table', { class: 'ledger ticket-table', 'data-testid': 'ticket-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('support.numberColumn')),
        h('th', { scope: 'col' }, t('support.subject')),
        h('th', { scope: 'col' }, t('support.status')),
        h('th', { scope: 'col' }, t('support.priorityColumn')),
        h('th', { scope: 'col' }, t('support.teamColumn')),
        h('th', { scope: 'col' }, t('support.updated')))),
    body);
  const problem = errorRegion('tickets-error');
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'tickets-load-more' }, t('support.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'table-wrap' });
  const { draw, cursor } = pagedRows({
    body,
    table,
    empty: () => h('p', { class: 'muted', 'data-testid': 'tickets-empty' }, t('support.noTickets')),
    wrap,
    more,
    moreSlot,
    row: ticketRow,
  });
  onLoadMore(more, problem, cursor, async (at) => draw(
    await api.get(`${BASE}?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(at)}`), { append: true }));
  state.reloadTickets = latestReload(problem, t('support.ticketsFailed'),
    () => api.get(`${BASE}?limit=${PAGE_SIZE}`),
    (page, highlight) => draw(page, { highlight }));
  if (loadError) problem.replaceChildren(h('p', {}, t('support.ticketsFailed')), h('p', {}, errorText(loadError)));
  else draw(firstPage);
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'tickets' },
    h('h2', { id: titleId }, t('support.ticketsTitle')),
    problem,
    wrap,
    moreSlot);
}

async function renderList() {
  const settled = await Promise.allSettled([
    api.get(`${BASE}?limit=${PAGE_SIZE}`),
    api.get('/api/v1/ticket-categories'),
    api.get('/api/v1/subscriptions'),
  ]);
  const handled = settled.find((r) => r.status === 'rejected' && r.reason && r.reason.handled);
  if (handled) throw handled.reason;
  const [ticketsR, categoriesR, subsR] = settled;
  const state = {
    categories: categoriesR.status === 'fulfilled' ? dataOf(categoriesR.value) : [],
    categoriesError: categoriesR.status === 'rejected' ? categoriesR.reason : null,
    subscriptions: subsR.status === 'fulfilled' ? dataOf(subsR.value).filter((sub) => sub.status !== 'cancelled') : [],
    subscriptionsError: subsR.status === 'rejected' ? subsR.reason : null,
    reloadTickets: () => {},
  };
  // Built first: the form reloads the list after sending.
  const tickets = ticketsCard(state, ticketsR.status === 'fulfilled' ? ticketsR.value : null,
    ticketsR.status === 'rejected' ? ticketsR.reason : null);
  return h('section', { class: 'page wide', 'data-testid': 'page-support' },
    h('h1', {}, t('support.title')),
    h('p', { class: 'intro' }, t('support.intro')),
    h('div', { class: 'support-grid' },
      faqCard(),
      raiseCard(state)),
    tickets);
}

// --- one request -------------------------------------------------------------------------------

function notFound() {
  return h('section', { class: 'page', 'data-testid': 'page-ticket-missing' },
    h('p', { class: 'back-link' }, h('a', { href: '#/support', 'data-testid': 'back-to-support' }, t('support.back'))),
    h('h1', {}, t('support.notFoundTitle')),
    h('p', { class: 'notice' }, t('support.notFound')));
}

/** Why a comment was refused, in the customer's words. */
function commentErrorText(err) {
  if (err && err.code === 'TICKET_CLOSED') return t('support.errors.TICKET_CLOSED');
  return errorText(err);
}

function incidentBanner(incident) {
  if (!incident) return null;
  const open = incident.status !== 'resolved';
  return h('div', { class: `notice ${open ? 'warning' : 'success'} incident-banner`, 'data-testid': 'ticket-incident', 'data-incident-status': incident.status || '' },
    h('p', { class: 'strong' }, t(open ? 'support.incidentOpen' : 'support.incidentResolved', { title: incident.title || '' })),
    open ? h('p', {}, t('support.incidentOpenHint')) : null);
}

async function renderTicket(ctx, ticketId) {
  // The subscription's name comes from the customer's subscriptions (not needed to show the rest).
  const [ticketR, subsR] = await Promise.allSettled([api.get(ticketPath(ticketId)), api.get('/api/v1/subscriptions')]);
  if (ticketR.status === 'rejected') {
    if (ticketR.reason && ticketR.reason.status === 404) return notFound();
    throw ticketR.reason;
  }
  const ticket = ticketR.value;
  const subscriptions = new Map((subsR.status === 'fulfilled' ? dataOf(subsR.value) : []).map((sub) => [sub.id, sub]));
  const state = { ticket };
  const heading = h('h1', { 'data-testid': 'ticket-title' });
  const badges = h('span', { class: 'status-slot' });
  const incidentSlot = h('div', { class: 'incident-slot' });
  const resolutionSlot = h('div', { class: 'resolution-slot' });
  const factsSlot = h('div', {});
  const descriptionSlot = h('div', {});
  const historySlot = h('div', {});
  const commentSlot = h('div', {});
  const problem = errorRegion('ticket-error');

  const reload = async () => {
    try {
      state.ticket = await api.get(ticketPath(ticketId));
      draw();
      return true;
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, t('support.reloadFailed')), h('p', {}, errorText(err)));
      return false;
    }
  };

  // The comment box (once: what is typed stays while the ticket is redrawn).
  const F = 'comment';
  const commentTitleId = 'comment-title';
  const commentHint = h('p', { class: 'hint', 'data-testid': 'comment-reopen-hint' });
  const commentResult = resultRegion('comment-result');
  const commentForm = h('form', { class: 'form', 'data-testid': 'comment-form', novalidate: true, 'aria-labelledby': commentTitleId },
    formMessage(),
    textareaField({ form: F, name: 'text', label: t('support.commentLabel'), rows: 4, attrs: { 'data-testid': 'comment-text' } }),
    commentHint,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'comment-submit' }, t('support.commentSubmit'))));
  const commentSection = h('section', { class: 'card comment-card', 'aria-labelledby': commentTitleId, 'data-testid': 'comment' },
    h('h2', { id: commentTitleId }, t('support.commentTitle')), commentForm, commentResult);
  onSubmit(commentForm, async () => {
    commentResult.replaceChildren();
    problem.replaceChildren();
    const text = value(commentForm, 'text').trim();
    const problems = {};
    if (!text) problems.text = t('validation.required');
    else if (text.length > TEXT_MAX) problems.text = t('support.tooLong', { max: TEXT_MAX });
    if (showProblems(commentForm, problems)) return;
    clearErrors(commentForm);
    let entry;
    try {
      entry = await api.post(ticketPath(ticketId, 'comments'), { text });
    } catch (err) {
      if (err && err.handled) return;
      showNestedError(commentForm, err, commentErrorText(err));
      commentForm.setAttribute('data-error', (err && err.code) || '');
      if (err && err.status === 409) {
        await reload(); // closed meanwhile: show how it stands
        // A closed ticket has no comment box any more: say why at the top instead.
        if (!commentForm.isConnected) problem.replaceChildren(h('p', {}, commentErrorText(err)));
      }
      return;
    }
    commentForm.removeAttribute('data-error');
    commentForm.reset();
    const reopened = state.ticket.status === 'resolved';
    if (!(await reload()) && entry) {
      state.ticket = { ...state.ticket, history: [...(state.ticket.history || []), entry] };
      draw();
    }
    commentResult.replaceChildren(h('p', { class: 'notice success', 'data-testid': 'comment-success' },
      reopened && state.ticket.status === 'in_progress' ? t('support.commentReopened') : t('support.commentAdded')));
    commentResult.focus();
  });

  const draw = () => {
    const tk = state.ticket;
    heading.textContent = t('support.ticketTitle', { number: tk.number ?? '', subject: tk.subject || '' });
    badges.replaceChildren(statusBadge(tk.status, { 'data-testid': 'ticket-status' }));
    incidentSlot.replaceChildren(...[incidentBanner(tk.incident)].filter(Boolean));
    resolutionSlot.replaceChildren(...(tk.resolution && ['resolved', 'closed'].includes(tk.status) ? [
      h('div', { class: 'notice success', 'data-testid': 'ticket-resolution' },
        h('p', { class: 'strong' }, t('support.resolutionTitle', { date: dateTime(tk.resolved_at) })),
        h('p', { class: 'message', 'data-testid': 'ticket-resolution-text' }, tk.resolution))] : []));
    factsSlot.replaceChildren(h('dl', { class: 'pairs' },
      fact(t('support.category'), tk.category_name || tk.category || '', 'ticket-category'),
      fact(t('support.teamColumn'), teamText(tk.team), 'ticket-team'),
      fact(t('support.priorityColumn'), priorityText(tk.priority), 'ticket-priority'),
      fact(t('support.created'), h('time', { datetime: tk.created_at || '' }, dateTime(tk.created_at)), 'ticket-created'),
      fact(t('support.updated'), h('time', { datetime: tk.updated_at || '' }, dateTime(tk.updated_at)), 'ticket-updated'),
      tk.subscription_id ? fact(t('support.subscription'), subscriptions.has(tk.subscription_id)
        ? subscriptionLabel(subscriptions.get(tk.subscription_id))
        : h('span', { class: 'serial' }, tk.subscription_id), 'ticket-subscription') : null));
    descriptionSlot.replaceChildren(h('p', { class: 'message', 'data-testid': 'ticket-description' }, tk.description || ''));
    historySlot.replaceChildren(historyList(tk.history, { incident: tk.incident, labelledBy: 'history-title' }));
    if (tk.status === 'closed') {
      commentSlot.replaceChildren(h('p', { class: 'notice', 'data-testid': 'ticket-closed' }, t('support.closedNotice')));
    } else {
      if (tk.status === 'resolved') {
        commentHint.textContent = tk.reopen_until ? t('support.reopenUntil', { date: dateTime(tk.reopen_until) }) : t('support.reopen');
      } else {
        commentHint.textContent = tk.status === 'waiting_on_customer' ? t('support.waitingHint') : '';
      }
      commentHint.hidden = !commentHint.textContent;
      if (commentSection.parentNode !== commentSlot) commentSlot.replaceChildren(commentSection);
    }
  };
  draw();

  return h('section', { class: 'page wide', 'data-testid': 'page-ticket', 'data-ticket-id': ticket.id },
    h('p', { class: 'back-link' }, h('a', { href: '#/support', 'data-testid': 'back-to-support' }, t('support.back'))),
    h('div', { class: 'invoice-head' }, heading, badges),
    problem,
    incidentSlot,
    resolutionSlot,
    h('div', { class: 'bills-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'ticket-facts-title' },
        h('h2', { id: 'ticket-facts-title' }, t('support.detailsTitle')),
        factsSlot),
      h('section', { class: 'card', 'aria-labelledby': 'ticket-description-title' },
        h('h2', { id: 'ticket-description-title' }, t('support.description')),
        descriptionSlot)),
    h('section', { class: 'card bills-card', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, t('support.historyTitle')),
      historySlot),
    commentSlot);
}

export async function render(ctx) {
  const [ticketId] = ctx.params || [];
  return ticketId ? renderTicket(ctx, ticketId) : renderList(ctx);
}

