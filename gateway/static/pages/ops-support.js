// Ops → Support desk (`#/ops/support`, agents and admins): the queue of tickets, most urgent
// first, filtered by team (the agent's own teams, or all) and status, and the open incidents,
// which are resolved here (optionally granting each affected customer a service credit).
// `#/ops/support/<ticket id>`: one ticket as support sees it (the customer's context when it was
// raised, the escalation, the whole history with internal notes marked) and what an agent does
// with it: acknowledge, assign to self, change status or priority, comment (internal or not),
// resolve.
//
// Every action answers the ticket as it now stands, and the page redraws from that answer; the
// status machine is the server's, so a refused change (409) is shown next to the action.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, setMessage, clearErrors, errorText, value,
  showNestedError, resultRegion, onLoadMore,
} from '../dom.js';
import { money, isMoney, dateTime, parseAmount, fractionDigits, amountInput } from '../format.js';
import {
  STATUSES, PRIORITIES, statusBadge, statusText, priorityBadge, priorityText, teamText, textareaField,
  historyList, errorRegion,
} from './support.js';

const BASE = '/api/v1/ops/tickets';
const INCIDENTS = '/api/v1/ops/incidents';
const PAGE_SIZE = 25;
const TEXT_MAX = 5000;
const ALL = '';
const OPS_STATUS = 'opsSupport.status';
// The statuses an agent sets by hand; the server's status machine says which move is allowed.
const AGENT_STATUSES = ['acknowledged', 'in_progress', 'waiting_on_customer', 'closed'];

const ticketPath = (id, ...rest) => [BASE, encodeURIComponent(id), ...rest].join('/');
const incidentPath = (id, ...rest) => [INCIDENTS, encodeURIComponent(id), ...rest].join('/');
const ticketHash = (id) => `#/ops/support/${encodeURIComponent(id)}`;
const dataOf = (page) => (Array.isArray(page && page.data) ? page.data : []);

// The queue's filters, kept while the agent opens tickets and comes back.
const filters = { team: null, status: 'open' };

/** A refusal in the desk's words (a status change the machine does not allow names both ends). */
function errorFor(err, { from, to } = {}) {
  if (err && err.code === 'INVALID_STATUS_CHANGE' && from && to) {
    return t('opsSupport.errors.INVALID_STATUS_CHANGE', {
      from: statusText(from, OPS_STATUS), to: statusText(to, OPS_STATUS),
    });
  }
  const key = `opsSupport.errors.${err && err.code}`;
  return err && err.code && has(key) ? t(key) : errorText(err);
}

/** How long ago a ticket was raised, in a few characters: "12 min", "5 h", "3 d". */
function age(iso, now = Date.now()) {
  const at = Date.parse(iso || '');
  if (Number.isNaN(at)) return '';
  const minutes = Math.max(0, Math.floor((now - at) / 60000));
  if (minutes < 60) return t('opsSupport.ageMinutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('opsSupport.ageHours', { n: hours });
  return t('opsSupport.ageDays', { n: Math.floor(hours / 24) });
}

/** Account ids → names, from the teams' member lists (when the teams answered). */
function namesFrom(teams) {
  const names = new Map();
  for (const team of teams) {
    for (const member of Array.isArray(team.members) ? team.members : []) {
      if (member && member.id) names.set(member.id, member.name || member.email || member.id);
    }
  }
  return names;
}

function assigneeText(id, { me, names }) {
  if (!id) return t('opsSupport.unassigned');
  if (me && id === me.id) return t('opsSupport.you');
  return names.get(id) || id;
}

function fact(label, content, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, content));
}

async function loadMeAndTeams() {
  const settled = await Promise.allSettled([api.get('/api/v1/me'), api.get('/api/v1/ops/teams')]);
  const handled = settled.find((r) => r.status === 'rejected' && r.reason && r.reason.handled);
  if (handled) throw handled.reason;
  const [meR, teamsR] = settled;
  if (meR.status === 'rejected') throw meR.reason;
  return { me: meR.value, teams: teamsR.status === 'fulfilled' ? dataOf(teamsR.value) : [] };
}

/** Escalation policy ids → names (the ticket names its policy by id); empty when not answered. */
async function policyNames() {
  try {
    return new Map(dataOf(await api.get('/api/v1/ops/escalation-policies')).map((p) => [p.id, p.name || p.id]));
  } catch (err) {
    if (err && err.handled) throw err;
    return new Map();
  }
}

// --- the queue ---------------------------------------------------------------------------------

function queueQuery() {
  const params = new URLSearchParams();
  if (filters.team) params.set('team', filters.team);
  if (filters.status) params.set('status', filters.status);
  params.set('limit', String(PAGE_SIZE));
  return params;
}

function queueRow(ticket, ctx) {
  const label = t('opsSupport.openTicketLabel', { number: ticket.number ?? '', subject: ticket.subject || '' });
  return h('tr', {
    'data-testid': 'queue-row',
    'data-ticket-id': ticket.id,
    'data-number': String(ticket.number ?? ''),
    'data-status': ticket.status || '',
    'data-priority': ticket.priority || '',
    'data-team': ticket.team || '',
  },
  h('th', { scope: 'row', 'data-label': t('opsSupport.number') },
    h('a', { href: ticketHash(ticket.id), class: 'serial', 'data-testid': 'queue-link', 'aria-label': label },
      t('support.number', { number: ticket.number ?? '' }))),
  h('td', { 'data-label': t('opsSupport.priority') }, priorityBadge(ticket.priority, { 'data-testid': 'queue-priority' })),
  h('td', { 'data-label': t('opsSupport.subject'), class: 'ticket-subject', 'data-testid': 'queue-subject' }, ticket.subject || ''),
  h('td', { 'data-label': t('opsSupport.team'), 'data-testid': 'queue-team' }, teamText(ticket.team)),
  h('td', { 'data-label': t('opsSupport.statusColumn') }, statusBadge(ticket.status, { 'data-testid': 'queue-status' }, OPS_STATUS)),
  h('td', { 'data-label': t('opsSupport.assignee'), 'data-testid': 'queue-assignee' }, assigneeText(ticket.assignee, ctx)),
  h('td', { 'data-label': t('opsSupport.age'), class: 'when' },
    h('time', { datetime: ticket.created_at || '', title: dateTime(ticket.created_at), 'data-testid': 'queue-age' }, age(ticket.created_at))));
}

function queueCard(ctx) {
  const F = 'queue';
  const titleId = 'queue-title';
  const myTeams = Array.isArray(ctx.me.teams) ? ctx.me.teams : [];
  const otherTeams = ctx.teams.map((team) => team.id).filter((id) => id && !myTeams.includes(id));
  if (filters.team === null) filters.team = myTeams.length ? myTeams[0] : ALL;
  const knownTeams = [...myTeams, ...otherTeams];
  if (filters.team && !knownTeams.includes(filters.team)) knownTeams.push(filters.team);

  const teamOptions = [
    ...myTeams.map((id) => ({ value: id, label: t('opsSupport.myTeam', { team: teamText(id) }) })),
    { value: ALL, label: t('opsSupport.allTeams') },
    ...knownTeams.filter((id) => !myTeams.includes(id)).map((id) => ({ value: id, label: teamText(id) })),
  ];
  const statusOptions = [
    { value: 'open', label: t('opsSupport.statusOpen') },
    ...STATUSES.map((status) => ({ value: status, label: statusText(status, OPS_STATUS) })),
    { value: ALL, label: t('opsSupport.statusAll') },
  ];
  const form = h('form', { class: 'form queue-filters', 'data-testid': 'queue-filters', novalidate: true, 'aria-label': t('opsSupport.filtersLabel') },
    h('div', { class: 'inline-fields' },
      field({ form: F, name: 'team', label: t('opsSupport.team'), value: filters.team, options: teamOptions, attrs: { 'data-testid': 'queue-team-filter' } }),
      field({ form: F, name: 'status', label: t('opsSupport.statusColumn'), value: filters.status, options: statusOptions, attrs: { 'data-testid': 'queue-status-filter' } }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'queue-refresh' }, t('opsSupport.refresh')))));

  const body = h('tbody', {});
  const table = h('table', { class: 'ledger queue-table', 'data-testid': 'queue-list', 'aria-labelledby': titleId },
    h('thead', {},
      h('tr', {},
        h('th', { scope: 'col' }, t('opsSupport.number')),
        h('th', { scope: 'col' }, t('opsSupport.priority')),
        h('th', { scope: 'col' }, t('opsSupport.subject')),
        h('th', { scope: 'col' }, t('opsSupport.team')),
        h('th', { scope: 'col' }, t('opsSupport.statusColumn')),
        h('th', { scope: 'col' }, t('opsSupport.assignee')),
        h('th', { scope: 'col' }, t('opsSupport.age')))),
    body);
  const summary = h('p', { class: 'muted', 'data-testid': 'queue-summary', role: 'status', 'aria-live': 'polite' });
  const problem = errorRegion('queue-error');
  const more = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'queue-load-more' }, t('opsSupport.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const wrap = h('div', { class: 'table-wrap' });
  let cursor = null;

  const draw = (page, { append } = {}) => {
    const rows = dataOf(page).map((ticket) => queueRow(ticket, ctx));
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    wrap.replaceChildren(body.children.length ? table : h('p', { class: 'muted', 'data-testid': 'queue-empty' }, t('opsSupport.queueEmpty')));
    cursor = page && page.has_more && page.next_cursor ? page.next_cursor : null;
    moreSlot.replaceChildren(...(cursor ? [more] : []));
    summary.textContent = t('opsSupport.queueSummary', {
      team: filters.team ? teamText(filters.team) : t('opsSupport.allTeams'),
      status: statusOptions.find((o) => o.value === filters.status).label,
    });
    return rows;
  };

  let loads = 0;
  const load = async () => {
    const mine = ++loads;
    problem.replaceChildren();
    wrap.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get(`${BASE}?${queueQuery()}`);
      if (mine === loads) draw(page);
    } catch (err) {
      if (mine === loads && !(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    } finally {
      if (mine === loads) wrap.removeAttribute('aria-busy');
    }
  };
  const readFilters = () => {
    filters.team = value(form, 'team');
    filters.status = value(form, 'status');
  };
  form.querySelectorAll('select').forEach((select) => select.addEventListener('change', () => {
    readFilters();
    load();
  }));
  onSubmit(form, async () => {
    readFilters();
    await load();
  });
  onLoadMore(more, problem, () => cursor, async (at) => {
    const params = queueQuery();
    params.set('cursor', at);
    return draw(await api.get(`${BASE}?${params}`), { append: true });
  });

  return {
    load,
    section: h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'queue' },
      h('h2', { id: titleId }, t('opsSupport.queueTitle')),
      form,
      summary,
      problem,
      wrap,
      moreSlot),
  };
}

// --- incidents ---------------------------------------------------------------------------------

function resolveIncidentPanel(incident, currency, { onDone, onCancel }) {
  const F = 'incident-resolve';
  const titleId = 'incident-resolve-title';
  const digits = fractionDigits(currency);
  const example = amountInput({ amount: 5 * 10 ** digits, currency });
  const form = h('form', { class: 'form', 'data-testid': 'incident-resolve-form', novalidate: true, 'aria-labelledby': titleId },
    formMessage(),
    textareaField({
      form: F, name: 'resolution', label: t('opsSupport.resolution'), hint: t('opsSupport.incidentResolutionHint'), rows: 3,
      attrs: { 'data-testid': 'incident-resolution' },
    }),
    field({
      form: F, name: 'credit', label: t('opsSupport.credit', { currency }), hint: t('opsSupport.creditHint', { example }),
      attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'incident-credit' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'incident-resolve-confirm' }, t('opsSupport.resolveIncident')),
      h('button', { type: 'button', class: 'button secondary', 'data-testid': 'incident-resolve-cancel', on: { click: onCancel } }, t('opsSupport.cancel'))));
  // Resolving can credit every affected customer: it carries an Idempotency-Key, kept while
  // the outcome is unknown so a resubmission is the same request.
  const send = api.idempotentSender();
  onSubmit(form, async () => {
    const resolution = value(form, 'resolution').trim();
    const creditText = value(form, 'credit').trim();
    const problems = {};
    if (!resolution) problems.resolution = t('validation.required');
    else if (resolution.length > TEXT_MAX) problems.resolution = t('support.tooLong', { max: TEXT_MAX });
    let credit = null;
    if (creditText) {
      const parsed = parseAmount(creditText, currency);
      if (parsed.error || parsed.amount <= 0) problems.credit = t('opsSupport.creditInvalid', { example, digits });
      else credit = { amount: parsed.amount, currency };
    }
    if (showProblems(form, problems)) return;
    clearErrors(form);
    let answer;
    try {
      answer = await send('POST', incidentPath(incident.id, 'resolve'), credit ? { resolution, credit } : { resolution });
    } catch (err) {
      if (err && err.handled) return;
      showNestedError(form, err, errorFor(err));
      return;
    }
    await onDone(answer || { ...incident, status: 'resolved' });
  });
  const panel = h('section', { class: 'confirm-panel', id: 'incident-resolve-panel', 'aria-labelledby': titleId, 'data-testid': 'incident-resolve-panel' },
    h('h3', { id: titleId, tabindex: '-1' }, t('opsSupport.resolveIncidentTitle', { title: incident.title || '' })),
    h('p', {}, t('opsSupport.resolveIncidentIntro', { count: incident.ticket_count ?? 0 })),
    form);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') onCancel();
  });
  return panel;
}

function creditsText(incident) {
  const credits = incident.credits || {};
  if (!isMoney(incident.credit)) return null;
  return t('opsSupport.creditsOutcome', {
    amount: money(incident.credit), granted: credits.granted ?? 0, pending: credits.pending ?? 0, failed: credits.failed ?? 0,
  });
}

function incidentsCard(ctx, firstPage, loadError) {
  const titleId = 'incidents-title';
  const currency = (ctx.me && ctx.me.currency) || 'EUR';
  const wrap = h('div', { class: 'table-wrap' });
  const status = resultRegion('incidents-status');
  const problem = errorRegion('incidents-error');
  const panelSlot = h('div', { class: 'void-slot' });
  const refresh = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'incidents-refresh' }, t('opsSupport.refresh'));
  let opener = null;

  const closePanel = ({ focus = true } = {}) => {
    panelSlot.replaceChildren();
    if (opener && focus && opener.isConnected) opener.focus();
    opener = null;
  };

  const row = (incident) => {
    const button = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'incident-resolve',
      'aria-label': t('opsSupport.resolveIncidentLabel', { title: incident.title || '' }),
      'aria-controls': 'incident-resolve-panel',
    }, t('opsSupport.resolve'));
    button.addEventListener('click', () => {
      closePanel({ focus: false });
      opener = button;
      const panel = resolveIncidentPanel(incident, currency, {
        async onDone(answer) {
          closePanel({ focus: false });
          const credited = creditsText(answer);
          status.replaceChildren(h('div', { class: 'notice success', 'data-testid': 'incident-resolved' },
            h('p', { class: 'strong' }, t('opsSupport.incidentResolved', { title: answer.title || incident.title || '', count: answer.ticket_count ?? incident.ticket_count ?? 0 })),
            credited ? h('p', { 'data-testid': 'incident-credits' }, credited) : null));
          status.focus();
          await reload();
        },
        onCancel: () => closePanel(),
      });
      panelSlot.replaceChildren(panel);
      panel.scrollIntoView({ block: 'nearest', behavior: 'auto' });
      panel.querySelector('textarea').focus({ preventScroll: true });
    });
    return h('tr', { 'data-testid': 'incident-row', 'data-incident-id': incident.id, 'data-status': incident.status || '' },
      h('th', { scope: 'row', 'data-label': t('opsSupport.incidentTitle'), 'data-testid': 'incident-title' }, incident.title || incident.id),
      h('td', { 'data-label': t('opsSupport.team'), 'data-testid': 'incident-team' }, teamText(incident.team)),
      h('td', { 'data-label': t('opsSupport.tickets'), class: 'amount', 'data-testid': 'incident-tickets' }, String(incident.ticket_count ?? '')),
      h('td', { 'data-label': t('opsSupport.customers'), class: 'amount', 'data-testid': 'incident-customers' }, String(incident.customer_count ?? '')),
      h('td', { 'data-label': t('opsSupport.openedAt'), class: 'when' },
        h('time', { datetime: incident.opened_at || '', 'data-testid': 'incident-opened' }, dateTime(incident.opened_at))),
      h('td', { class: 'row-action' }, h('div', { class: 'row-buttons' }, button)));
  };

  const draw = (page) => {
    const incidents = dataOf(page);
    if (!incidents.length) {
      wrap.replaceChildren(h('p', { class: 'muted', 'data-testid': 'incidents-empty' }, t('opsSupport.noIncidents')));
      return;
    }
    wrap.replaceChildren(h('table', { class: 'ledger incident-table', 'data-testid': 'incident-list', 'aria-labelledby': titleId },
      h('thead', {},
        h('tr', {},
          h('th', { scope: 'col' }, t('opsSupport.incidentTitle')),
          h('th', { scope: 'col' }, t('opsSupport.team')),
          h('th', { scope: 'col', class: 'amount' }, t('opsSupport.tickets')),
          h('th', { scope: 'col', class: 'amount' }, t('opsSupport.customers')),
          h('th', { scope: 'col', class: 'when' }, t('opsSupport.openedAt')),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('opsSupport.actions'))))),
      h('tbody', {}, incidents.map(row))));
  };

  async function reload() {
    problem.replaceChildren();
    try {
      draw(await api.get(`${INCIDENTS}?status=open&limit=100`));
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    }
  }
  refresh.addEventListener('click', async () => {
    if (refresh.disabled) return;
    refresh.disabled = true;
    status.replaceChildren();
    await reload();
    refresh.disabled = false;
  });

  if (loadError) problem.replaceChildren(h('p', {}, t('opsSupport.incidentsFailed')), h('p', {}, errorText(loadError)));
  else draw(firstPage);
  return h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'incidents' },
    h('div', { class: 'panel-head' }, h('h2', { id: titleId }, t('opsSupport.incidentsTitle')), refresh),
    h('p', { class: 'intro' }, t('opsSupport.incidentsIntro')),
    status,
    problem,
    wrap,
    panelSlot);
}

async function renderQueue() {
  const [{ me, teams }, incidentsR] = await Promise.all([
    loadMeAndTeams(),
    api.get(`${INCIDENTS}?status=open&limit=100`).then((value) => ({ value }), (reason) => ({ reason })),
  ]);
  if (incidentsR.reason && incidentsR.reason.handled) throw incidentsR.reason;
  const ctx = { me, teams, names: namesFrom(teams) };
  const queue = queueCard(ctx);
  await queue.load();
  return h('section', { class: 'page wide', 'data-testid': 'page-ops-support' },
    h('h1', {}, t('opsSupport.title')),
    h('p', { class: 'intro' }, t('opsSupport.intro')),
    queue.section,
    incidentsCard(ctx, incidentsR.value, incidentsR.reason));
}

// --- one ticket --------------------------------------------------------------------------------

function contextCard(tk) {
  const c = tk.context || {};
  const unavailable = Array.isArray(c.unavailable) ? c.unavailable : [];
  const packages = Array.isArray(c.packages) ? c.packages : [];
  const pkgName = (p) => (typeof p === 'string' ? p : (p && (p.name || p.code)) || '');
  const billingKey = `billing.${c.billing_type}`;
  const missing = (part) => unavailable.includes(part);
  const unknown = () => h('span', { class: 'muted' }, t('opsSupport.unknown'));
  return h('section', { class: 'card', 'aria-labelledby': 'context-title', 'data-testid': 'ticket-context' },
    h('h2', { id: 'context-title' }, t('opsSupport.contextTitle')),
    h('p', { class: 'hint' }, t('opsSupport.contextIntro')),
    h('dl', { class: 'pairs' },
      fact(t('opsSupport.customer'), h('span', { class: 'serial' }, tk.customer_id || ''), 'context-customer'),
      fact(t('opsSupport.billingType'), c.billing_type ? (has(billingKey) ? t(billingKey) : c.billing_type) : unknown(), 'context-billing-type'),
      fact(t('opsSupport.region'), c.tax_region || unknown(), 'context-region'),
      fact(t('opsSupport.packages'), packages.length ? packages.map(pkgName).filter(Boolean).join(', ')
        : c.package || (missing('packages') || missing('accounts') || missing('billing') ? unknown() : t('opsSupport.noPackages')), 'context-packages'),
      fact(t('opsSupport.openBalance'), isMoney(c.open_balance) ? money(c.open_balance) : unknown(), 'context-open-balance')),
    unavailable.length
      ? h('p', { class: 'notice muted', 'data-testid': 'context-unavailable' }, t('opsSupport.contextUnavailable', { parts: unavailable.join(', ') }))
      : null);
}

function escalationText(e, policies) {
  if (!e || !e.policy) return t('opsSupport.noEscalation');
  const policy = policies.get(e.policy) || e.policy;
  return e.next_at
    ? t('opsSupport.escalationNext', { policy, step: e.step ?? '', round: e.round ?? '', at: dateTime(e.next_at) })
    : t('opsSupport.escalationStopped', { policy, step: e.step ?? '', round: e.round ?? '' });
}

async function renderTicket(ticketId) {
  let loaded;
  try {
    loaded = await Promise.all([api.get(ticketPath(ticketId)), loadMeAndTeams(), policyNames()]);
  } catch (err) {
    if (err && err.status === 404) {
      return h('section', { class: 'page', 'data-testid': 'page-ops-ticket-missing' },
        h('p', { class: 'back-link' }, h('a', { href: '#/ops/support', 'data-testid': 'back-to-desk' }, t('opsSupport.back'))),
        h('h1', {}, t('support.notFoundTitle')),
        h('p', { class: 'notice' }, t('opsSupport.notFound')));
    }
    throw err;
  }
  const [ticket, { me, teams }, policies] = loaded;
  const ctx = { me, teams, names: namesFrom(teams) };
  const state = { ticket };

  const heading = h('h1', { 'data-testid': 'ops-ticket-title' });
  const badges = h('span', { class: 'status-slot' });
  const result = resultRegion('ops-ticket-result');
  const problem = errorRegion('ops-ticket-error');
  const factsSlot = h('div', {});
  const contextSlot = h('div', { class: 'context-slot' });
  const descriptionSlot = h('div', {});
  const historySlot = h('div', {});
  const say = (text) => {
    result.replaceChildren(h('p', { class: 'notice success', 'data-testid': 'ops-ticket-done' }, text));
  };

  /** Run one action; its answer (the ticket) is drawn. Returns the ticket or null. */
  const act = async (control, call, done, hints) => {
    if (control.disabled) return null;
    control.disabled = true;
    result.replaceChildren();
    problem.replaceChildren();
    try {
      const answer = await call();
      state.ticket = answer && answer.id ? answer : await api.get(ticketPath(ticketId));
      draw();
      say(done);
      return state.ticket;
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', { 'data-error': (err && err.code) || '' }, errorFor(err, hints)));
      return null;
    } finally {
      control.disabled = false;
    }
  };

  // the buttons and small forms of the actions panel
  const acknowledge = h('button', { type: 'button', class: 'button primary', 'data-testid': 'ticket-acknowledge' }, t('opsSupport.acknowledge'));
  acknowledge.addEventListener('click', () => act(acknowledge, () => api.post(ticketPath(ticketId, 'acknowledge')), t('opsSupport.acknowledged')));
  const assignMe = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'ticket-assign-me' }, t('opsSupport.assignToMe'));
  assignMe.addEventListener('click', () => act(assignMe, () => api.post(ticketPath(ticketId, 'assign'), { assignee: me.id }), t('opsSupport.assignedToYou')));
  const unassign = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'ticket-unassign' }, t('opsSupport.unassign'));
  unassign.addEventListener('click', () => act(unassign, () => api.post(ticketPath(ticketId, 'assign'), { assignee: null }), t('opsSupport.unassignedDone')));

  const statusForm = h('form', { class: 'inline-form', 'data-testid': 'ticket-status-form', novalidate: true },
    field({
      form: 'ticket-status', name: 'status', label: t('opsSupport.statusColumn'),
      options: [], attrs: { 'data-testid': 'ticket-status-select' },
    }),
    h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'ticket-status-submit' }, t('opsSupport.changeStatus')));
  onSubmit(statusForm, async () => {
    const from = state.ticket.status;
    const to = value(statusForm, 'status');
    if (to === from) return;
    await act(statusForm.querySelector('button'), () => api.patch(ticketPath(ticketId), { status: to }),
      t('opsSupport.statusChanged', { status: statusText(to, OPS_STATUS) }), { from, to });
  });
  const priorityForm = h('form', { class: 'inline-form', 'data-testid': 'ticket-priority-form', novalidate: true },
    field({
      form: 'ticket-priority', name: 'priority', label: t('opsSupport.priority'),
      options: PRIORITIES.map((p) => ({ value: p, label: priorityText(p) })), attrs: { 'data-testid': 'ticket-priority-select' },
    }),
    h('button', { type: 'submit', class: 'button secondary', 'data-testid': 'ticket-priority-submit' }, t('opsSupport.changePriority')));
  onSubmit(priorityForm, async () => {
    const to = value(priorityForm, 'priority');
    if (to === state.ticket.priority) return;
    await act(priorityForm.querySelector('button'), () => api.patch(ticketPath(ticketId), { priority: to }),
      t('opsSupport.priorityChanged', { priority: priorityText(to) }));
  });

  // resolving
  const resolveTitleId = 'resolve-title';
  const resolveForm = h('form', { class: 'form', 'data-testid': 'ticket-resolve-form', novalidate: true, 'aria-labelledby': resolveTitleId },
    formMessage(),
    textareaField({
      form: 'resolve', name: 'resolution', label: t('opsSupport.resolution'), hint: t('opsSupport.resolutionHint'), rows: 3,
      attrs: { 'data-testid': 'ticket-resolution-input' },
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ticket-resolve' }, t('opsSupport.resolveTicket'))));
  const resolveSection = h('section', { class: 'card', 'aria-labelledby': resolveTitleId, 'data-testid': 'ticket-resolve-card' },
    h('h2', { id: resolveTitleId }, t('opsSupport.resolveTitle')), resolveForm);
  onSubmit(resolveForm, async () => {
    const resolution = value(resolveForm, 'resolution').trim();
    const problems = {};
    if (!resolution) problems.resolution = t('validation.required');
    else if (resolution.length > TEXT_MAX) problems.resolution = t('support.tooLong', { max: TEXT_MAX });
    if (showProblems(resolveForm, problems)) return;
    clearErrors(resolveForm);
    try {
      state.ticket = await api.post(ticketPath(ticketId, 'resolve'), { resolution });
    } catch (err) {
      if (!(err && err.handled)) showNestedError(resolveForm, err, errorFor(err));
      return;
    }
    resolveForm.reset();
    draw();
    say(t('opsSupport.resolved'));
    result.focus();
  });

  // commenting
  const commentTitleId = 'ops-comment-title';
  const internalId = 'ops-comment-internal';
  const commentForm = h('form', { class: 'form', 'data-testid': 'ops-comment-form', novalidate: true, 'aria-labelledby': commentTitleId },
    formMessage(),
    textareaField({ form: 'ops-comment', name: 'text', label: t('opsSupport.commentLabel'), rows: 4, attrs: { 'data-testid': 'ops-comment-text' } }),
    h('div', { class: 'checkbox' },
      h('input', { type: 'checkbox', id: internalId, name: 'internal', 'data-testid': 'ops-comment-internal', 'aria-describedby': `${internalId}-hint` }),
      h('label', { for: internalId }, t('opsSupport.internal'))),
    h('p', { class: 'hint', id: `${internalId}-hint` }, t('opsSupport.internalHint')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ops-comment-submit' }, t('opsSupport.commentSubmit'))));
  onSubmit(commentForm, async () => {
    const text = value(commentForm, 'text').trim();
    const internal = commentForm.querySelector(`#${internalId}`).checked;
    const problems = {};
    if (!text) problems.text = t('validation.required');
    else if (text.length > TEXT_MAX) problems.text = t('support.tooLong', { max: TEXT_MAX });
    if (showProblems(commentForm, problems)) return;
    clearErrors(commentForm);
    try {
      await api.post(ticketPath(ticketId, 'comments'), { text, internal });
    } catch (err) {
      if (!(err && err.handled)) showNestedError(commentForm, err, errorFor(err));
      return;
    }
    commentForm.reset();
    try {
      state.ticket = await api.get(ticketPath(ticketId));
      draw();
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
    }
    setMessage(commentForm, 'success', internal ? t('opsSupport.noteAdded') : t('opsSupport.commentAdded'));
  });

  const actionsTitleId = 'actions-title';
  const actionsSection = h('section', { class: 'card', 'aria-labelledby': actionsTitleId, 'data-testid': 'ticket-actions' },
    h('h2', { id: actionsTitleId }, t('opsSupport.actionsTitle')),
    h('div', { class: 'actions' }, acknowledge, assignMe, unassign),
    h('div', { class: 'pair desk-forms' }, statusForm, priorityForm));

  const resolveSlot = h('div', {});
  const draw = () => {
    const tk = state.ticket;
    heading.textContent = t('support.ticketTitle', { number: tk.number ?? '', subject: tk.subject || '' });
    badges.replaceChildren(
      statusBadge(tk.status, { 'data-testid': 'ops-ticket-status' }, OPS_STATUS),
      priorityBadge(tk.priority, { 'data-testid': 'ops-ticket-priority' }));
    const finished = ['resolved', 'closed'].includes(tk.status);
    acknowledge.hidden = Boolean(tk.acknowledged_at) || finished;
    assignMe.hidden = tk.assignee === me.id;
    unassign.hidden = !tk.assignee;
    // What an agent may set (resolving has its own form), and where the ticket is now.
    const statusSelect = statusForm.querySelector('select');
    statusSelect.replaceChildren(...[...new Set([tk.status, ...AGENT_STATUSES])].filter(Boolean)
      .map((s) => h('option', { value: s }, statusText(s, OPS_STATUS))));
    statusSelect.value = tk.status;
    priorityForm.querySelector('select').value = tk.priority;
    resolveSlot.replaceChildren(...(finished ? [] : [resolveSection]));
    const incident = tk.incident;
    factsSlot.replaceChildren(h('dl', { class: 'pairs' },
      fact(t('support.category'), tk.category_name || tk.category || '', 'ops-ticket-category'),
      fact(t('opsSupport.team'), teamText(tk.team), 'ops-ticket-team'),
      fact(t('opsSupport.assignee'), assigneeText(tk.assignee, ctx), 'ops-ticket-assignee'),
      fact(t('opsSupport.urgencyImpact'), t('opsSupport.urgencyImpactValue', { urgency: tk.urgency ?? '–', impact: tk.impact ?? '–' }), 'ops-ticket-urgency'),
      fact(t('support.created'), h('time', { datetime: tk.created_at || '' }, dateTime(tk.created_at)), 'ops-ticket-created'),
      fact(t('opsSupport.acknowledgedAt'), tk.acknowledged_at ? h('time', { datetime: tk.acknowledged_at }, dateTime(tk.acknowledged_at)) : t('opsSupport.notYet'), 'ops-ticket-acknowledged'),
      fact(t('opsSupport.escalation'), escalationText(tk.escalation, policies), 'ops-ticket-escalation'),
      tk.subscription_id ? fact(t('support.subscription'), h('span', { class: 'serial' }, tk.subscription_id), 'ops-ticket-subscription') : null,
      incident ? fact(t('opsSupport.incident'), t('opsSupport.incidentValue', { title: incident.title || incident.id, status: incident.status || '' }), 'ops-ticket-incident') : null,
      Array.isArray(tk.rules) && tk.rules.length ? fact(t('opsSupport.rules'), tk.rules.join(', '), 'ops-ticket-rules') : null,
      tk.resolution ? fact(t('opsSupport.resolution'), h('span', { class: 'message' }, tk.resolution), 'ops-ticket-resolution') : null));
    contextSlot.replaceChildren(contextCard(tk));
    descriptionSlot.replaceChildren(h('p', { class: 'message', 'data-testid': 'ops-ticket-description' }, tk.description || ''));
    historySlot.replaceChildren(historyList(tk.history, {
      ops: true, names: ctx.names, me: me.id, incident: tk.incident, labelledBy: 'ops-history-title',
    }));
  };
  draw();

  return h('section', { class: 'page wide', 'data-testid': 'page-ops-ticket', 'data-ticket-id': ticket.id },
    h('p', { class: 'back-link' }, h('a', { href: '#/ops/support', 'data-testid': 'back-to-desk' }, t('opsSupport.back'))),
    h('div', { class: 'invoice-head' }, heading, badges),
    result,
    problem,
    h('div', { class: 'bills-grid' },
      actionsSection,
      h('section', { class: 'card', 'aria-labelledby': 'ops-facts-title' },
        h('h2', { id: 'ops-facts-title' }, t('support.detailsTitle')),
        factsSlot)),
    h('div', { class: 'bills-grid' },
      contextSlot,
      h('section', { class: 'card', 'aria-labelledby': 'ops-description-title' },
        h('h2', { id: 'ops-description-title' }, t('support.description')),
        descriptionSlot)),
    h('section', { class: 'card bills-card', 'aria-labelledby': 'ops-history-title' },
      h('h2', { id: 'ops-history-title' }, t('opsSupport.historyTitle')),
      historySlot),
    h('div', { class: 'bills-grid' },
      h('section', { class: 'card', 'aria-labelledby': commentTitleId, 'data-testid': 'ops-comment' },
        h('h2', { id: commentTitleId }, t('opsSupport.commentTitle')),
        commentForm),
      resolveSlot));
}

export async function render(ctx) {
  const [ticketId] = ctx.params || [];
  return ticketId ? renderTicket(ticketId) : renderQueue();
}
