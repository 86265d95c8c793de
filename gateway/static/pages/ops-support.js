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
//
// A staff tool: each ticket shows its SLA (the time left to resolve it, or how late it is,
// from the server's count: `sla.remaining_seconds` when the answer was made, ticking on here),
// its customer (name, e-mail, and their subscriptions, wallet ledger, invoices and payments
// on demand: "was I charged twice?"), canned replies for its category in its customer's
// language (inserted into the reply, editable before sending), and its history in sentences
// (internal keys — alert dedup keys, silence, incident and rule ids — only in a collapsed
// "Technical details" beside the entry).
import * as api from '../api.js';
import { t, has, LANGUAGES } from '../i18n.js';
import {
  h, field, formMessage, onSubmit, showProblems, setMessage, clearErrors, errorText, value,
  showNestedError, resultRegion, onLoadMore,
} from '../dom.js';
import { money, isMoney, dateTime, parseAmount, fractionDigits, amountInput } from '../format.js';
import { lineText } from '../line-text.js';
import {
  STATUSES, PRIORITIES, statusBadge, statusText, priorityBadge, priorityText, teamText, textareaField,
  describeEntry, errorRegion, timeline,
} from './support.js';

const BASE = '/api/v1/ops/tickets';
const INCIDENTS = '/api/v1/ops/incidents';
const CUSTOMERS = '/api/v1/ops/customers';
const CANNED = '/api/v1/ops/canned-replies';
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

// --- SLA ---------------------------------------------------------------------------------------

/** "2 h 10 min", "35 min", "3 d 4 h": a duration in whole minutes (rounded down). */
function durationText(seconds) {
  const minutes = Math.floor(Math.abs(seconds) / 60);
  if (minutes < 60) return t('opsSupport.sla.minutes', { m: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('opsSupport.sla.hoursMinutes', { h: hours, m: minutes % 60 });
  return t('opsSupport.sla.daysHours', { d: Math.floor(hours / 24), h: hours % 24 });
}

/**
 * A ticket's SLA in words, from the server's answer (`remaining_seconds` when it was made,
 * `loadedAt` on this page's clock): "2 h 10 min left", "Overdue by 35 min", "Resolved in time",
 * "Resolved 1 h 5 min late". Returns [text, state] with state running|overdue|met|breached.
 */
function slaText(sla, loadedAt, now = Date.now()) {
  if (!sla || typeof sla.remaining_seconds !== 'number') return [t('opsSupport.sla.none'), 'none'];
  if (sla.state === 'met') return [t('opsSupport.sla.met'), 'met'];
  if (sla.state === 'breached') return [t('opsSupport.sla.missed', { time: durationText(sla.remaining_seconds) }), 'breached'];
  const left = sla.remaining_seconds - Math.max(0, Math.floor((now - loadedAt) / 1000));
  return left >= 0
    ? [t('opsSupport.sla.left', { time: durationText(left) }), 'running']
    : [t('opsSupport.sla.overdue', { time: durationText(left) }), 'overdue'];
}

function drawSla(el) {
  const sla = JSON.parse(el.dataset.sla || 'null');
  const [text, state] = slaText(sla, Number(el.dataset.loadedAt));
  el.textContent = text;
  el.dataset.state = state;
  // late: in the most urgent priority's colours (styles.css)
  el.className = `badge sla sla-${state}${state === 'overdue' || state === 'breached' ? ' priority-p1' : ''}`;
}

let slaTicker = null;
/** The SLA texts on the page tick on (once a minute) until none is left on the page. */
function tickSla() {
  if (slaTicker) return;
  slaTicker = setInterval(() => {
    const shown = document.querySelectorAll('[data-sla]');
    if (!shown.length) {
      clearInterval(slaTicker);
      slaTicker = null;
      return;
    }
    shown.forEach(drawSla);
  }, 30_000);
}

function slaBadge(sla, attrs = {}) {
  const el = h('span', {
    class: 'badge sla', 'data-sla': JSON.stringify(sla || null), 'data-loaded-at': String(Date.now()),
    title: sla && sla.due_at ? t('opsSupport.sla.due', { at: dateTime(sla.due_at) }) : null, ...attrs,
  });
  drawSla(el);
  tickSla();
  return el;
}

// --- history, in sentences --------------------------------------------------------------------

/** The technical part of an entry (ids, keys), collapsed and copyable; never the main text. */
function technicalDetails(pairs) {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length));
  if (!shown.length) return null;
  return h('details', { class: 'history-details', 'data-testid': 'history-details' },
    h('summary', {}, t('opsSupport.history.details')),
    h('dl', { class: 'pairs' }, shown.map(([label, v]) => h('div', {},
      h('dt', {}, label),
      h('dd', {}, h('code', { class: 'serial' }, Array.isArray(v) ? v.join(', ') : String(v)))))));
}

function escalationSentence(data, routedAt) {
  const target = !data.target ? teamText(data.team)
    : data.target.type === 'lead' ? t('support.history.teamLead') : teamText(data.target.team || data.team);
  const number = data.number ?? (Number.isInteger(data.step) ? data.step + 1 : null);
  let minutes = data.after_minutes;
  if (typeof minutes !== 'number' && data.due_at && routedAt) {
    const ms = Date.parse(data.due_at) - Date.parse(routedAt);
    if (!Number.isNaN(ms)) minutes = Math.max(0, Math.floor(ms / 60000));
  }
  const step = number === null ? ''
    : data.of ? t('opsSupport.history.stepOf', { n: number, of: data.of }) : t('opsSupport.history.step', { n: number });
  const after = typeof minutes === 'number' ? t('opsSupport.history.after', { time: durationText(minutes * 60) }) : '';
  const again = Number.isInteger(data.round) && data.round > 0 ? t('opsSupport.history.repeat', { n: data.round }) : '';
  const how = [step, after, again].filter(Boolean).join(', ');
  return how ? t('opsSupport.history.escalatedHow', { target, how }) : t('opsSupport.history.escalated', { target });
}

/** One history entry as agents read it: [title, text or null, technical details or null]. */
function describeOpsEntry(entry, { names, me, incident, routedAt }) {
  const data = entry.data || {};
  switch (entry.kind) {
    case 'routed': {
      const also = Array.isArray(data.also) ? data.also.filter(Boolean) : [];
      return [t('opsSupport.history.routed', { team: teamText(data.team) }),
        also.length ? t('opsSupport.history.alsoPaged', { teams: also.map(teamText).join(', ') }) : null,
        technicalDetails([[t('opsSupport.history.ruleIds'), data.rule_ids]])];
    }
    case 'alerted':
      return [t('opsSupport.history.alerted', { team: teamText(data.team) }), null,
        technicalDetails([[t('opsSupport.history.dedupKey'), data.dedup_key]])];
    case 'silenced':
      return [data.team ? t('opsSupport.history.silencedTeam', { team: teamText(data.team) }) : t('opsSupport.history.silenced'), null,
        technicalDetails([[t('opsSupport.history.silenceId'), data.silence_id], [t('opsSupport.history.dedupKey'), data.dedup_key]])];
    case 'escalated':
      return [escalationSentence(data, routedAt), null, technicalDetails([[t('opsSupport.history.dueAt'), data.due_at]])];
    case 'incident': {
      const title = data.title || (incident && incident.id === data.incident_id ? incident.title : null);
      return [title ? t('opsSupport.history.incidentTitled', { title }) : t('support.history.incident'), null,
        technicalDetails([[t('opsSupport.history.incidentId'), data.incident_id]])];
    }
    case 'created': case 'acknowledged': case 'status_changed': case 'comment': case 'assigned':
    case 'priority_changed': case 'resolved': case 'reopened': case 'closed': case 'credited': {
      const [title, text] = describeEntry(entry, { ops: true, names, me, incident });
      return [title, text, null];
    }
    default:
      return [t('opsSupport.history.other'), entry.text || null, technicalDetails([[t('opsSupport.history.kind'), entry.kind]])];
  }
}

function actorName(actor) {
  if (!actor || !actor.type || actor.type === 'system') return t('support.actor.system');
  if (actor.type === 'customer') return actor.name || t('support.actor.customer');
  return actor.name || t('support.actor.agent');
}

/** The whole history, oldest first, internal notes marked. */
function opsHistoryList(entries, { names, me, incident, labelledBy }) {
  const shown = Array.isArray(entries) ? entries : [];
  const routed = shown.find((e) => e.kind === 'routed');
  const routedAt = routed ? routed.at : null;
  return timeline(shown, {
    labelledBy,
    describe: (entry) => describeOpsEntry(entry, { names, me, incident, routedAt }),
    actor: actorName,
  });
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
  h('td', { 'data-label': t('opsSupport.sla.label') }, slaBadge(ticket.sla, { 'data-testid': 'queue-sla' })),
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
        h('th', { scope: 'col' }, t('opsSupport.sla.label')),
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
    if (opener) {
      opener.removeAttribute('aria-controls'); // the panel it controlled is gone
      opener.setAttribute('aria-expanded', 'false');
    }
    if (opener && focus && opener.isConnected) opener.focus();
    opener = null;
  };

  const row = (incident) => {
    const button = h('button', {
      type: 'button',
      class: 'button secondary small',
      'data-testid': 'incident-resolve',
      'aria-label': t('opsSupport.resolveIncidentLabel', { title: incident.title || '' }),
      'aria-expanded': 'false', // aria-controls only while its panel is in the page
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
      button.setAttribute('aria-controls', panel.id);
      button.setAttribute('aria-expanded', 'true');
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

// --- canned replies, kept by supervisors and admins ----------------------------------------------

const ANY = '';

function cannedCard(categoryList) {
  const F = 'canned-edit';
  const titleId = 'canned-title';
  const formTitleId = 'canned-form-title';
  const categoryName = (code) => {
    if (!code) return t('opsSupport.cannedAdmin.anyCategory');
    const found = categoryList.find((c) => c.code === code);
    return (found && found.name) || code;
  };
  const languageName = (lang) => known(`language.${lang}`, lang);
  const status = resultRegion('canned-status');
  const problem = errorRegion('canned-error');
  const wrap = h('div', { class: 'table-wrap' });
  let editing = null; // the reply being changed, or null: a new one

  const filterForm = h('form', { class: 'form inline-form', 'data-testid': 'canned-filters', novalidate: true, 'aria-label': t('opsSupport.cannedAdmin.filtersLabel') },
    field({
      form: 'canned-filter', name: 'language', label: t('opsSupport.cannedAdmin.language'), value: ANY,
      options: [{ value: ANY, label: t('opsSupport.statusAll') }, ...LANGUAGES.map((l) => ({ value: l, label: languageName(l) }))],
      attrs: { 'data-testid': 'canned-filter-language' },
    }));

  const form = h('form', { class: 'form', 'data-testid': 'canned-form', novalidate: true, 'aria-labelledby': formTitleId },
    formMessage(),
    field({ form: F, name: 'title', label: t('opsSupport.cannedAdmin.titleField'), attrs: { maxlength: '100', autocomplete: 'off', 'data-testid': 'canned-title-input' } }),
    h('div', { class: 'inline-fields' },
      field({
        form: F, name: 'category', label: t('opsSupport.cannedAdmin.category'), value: ANY,
        options: [{ value: ANY, label: t('opsSupport.cannedAdmin.anyCategory') }, ...categoryList.map((c) => ({ value: c.code, label: c.name || c.code }))],
        attrs: { 'data-testid': 'canned-category-input' },
      }),
      field({
        form: F, name: 'language', label: t('opsSupport.cannedAdmin.language'), value: LANGUAGES[0],
        options: LANGUAGES.map((l) => ({ value: l, label: languageName(l) })), attrs: { 'data-testid': 'canned-language-input' },
      })),
    textareaField({ form: F, name: 'body', label: t('opsSupport.cannedAdmin.body'), rows: 4, attrs: { 'data-testid': 'canned-body-input' } }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'canned-save' }, t('opsSupport.cannedAdmin.save')),
      h('button', { type: 'button', class: 'button secondary', 'data-testid': 'canned-cancel', hidden: true }, t('opsSupport.cancel'))));
  const formTitle = h('h3', { id: formTitleId, tabindex: '-1' }, t('opsSupport.cannedAdmin.addTitle'));
  const cancel = form.querySelector('[data-testid="canned-cancel"]');
  const setEditing = (reply) => {
    editing = reply;
    form.reset();
    clearErrors(form);
    form.querySelector('[name="title"]').value = reply ? reply.title || '' : '';
    form.querySelector('[name="category"]').value = reply ? reply.category || ANY : ANY;
    form.querySelector('[name="language"]').value = reply ? reply.language || LANGUAGES[0] : LANGUAGES[0];
    form.querySelector('[name="body"]').value = reply ? reply.body || '' : '';
    formTitle.textContent = reply ? t('opsSupport.cannedAdmin.editTitle', { title: reply.title || '' }) : t('opsSupport.cannedAdmin.addTitle');
    cancel.hidden = !reply;
  };
  cancel.addEventListener('click', () => setEditing(null));

  const row = (reply) => {
    const edit = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'canned-edit', 'aria-label': t('opsSupport.cannedAdmin.editLabel', { title: reply.title || '' }) }, t('opsSupport.cannedAdmin.edit'));
    edit.addEventListener('click', () => {
      setEditing(reply);
      formTitle.focus();
    });
    const remove = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'canned-delete', 'aria-label': t('opsSupport.cannedAdmin.deleteLabel', { title: reply.title || '' }) }, t('opsSupport.cannedAdmin.delete'));
    remove.addEventListener('click', async () => {
      if (remove.disabled) return;
      remove.disabled = true;
      problem.replaceChildren();
      try {
        await api.del(`${CANNED}/${encodeURIComponent(reply.id)}`);
      } catch (err) {
        remove.disabled = false;
        if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
        return;
      }
      if (editing && editing.id === reply.id) setEditing(null);
      status.replaceChildren(h('p', { class: 'notice success', 'data-testid': 'canned-done' }, t('opsSupport.cannedAdmin.deleted', { title: reply.title || '' })));
      await load();
    });
    return h('tr', { 'data-testid': 'canned-row', 'data-id': reply.id || '', 'data-language': reply.language || '' },
      h('th', { scope: 'row', 'data-label': t('opsSupport.cannedAdmin.titleField'), 'data-testid': 'canned-row-title' }, reply.title || ''),
      h('td', { 'data-label': t('opsSupport.cannedAdmin.category') }, categoryName(reply.category)),
      h('td', { 'data-label': t('opsSupport.cannedAdmin.language') }, languageName(reply.language)),
      h('td', { class: 'row-action' }, h('div', { class: 'row-buttons' }, edit, remove)));
  };

  async function load() {
    problem.replaceChildren();
    const params = new URLSearchParams({ limit: '100' });
    const language = value(filterForm, 'language');
    if (language) params.set('language', language);
    let page;
    try {
      page = await api.get(`${CANNED}?${params}`);
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
      return;
    }
    const replies = dataOf(page);
    wrap.replaceChildren(replies.length
      ? h('table', { class: 'ledger', 'data-testid': 'canned-list', 'aria-labelledby': titleId },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('opsSupport.cannedAdmin.titleField')),
          h('th', { scope: 'col' }, t('opsSupport.cannedAdmin.category')),
          h('th', { scope: 'col' }, t('opsSupport.cannedAdmin.language')),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('opsSupport.actions'))))),
        h('tbody', {}, replies.map(row)))
      : h('p', { class: 'muted', 'data-testid': 'canned-empty' }, t('opsSupport.cannedAdmin.empty')),
    page && page.has_more ? h('p', { class: 'hint' }, t('opsSupport.customerPanel.latestOnly', { count: 100 })) : null);
  }
  filterForm.querySelector('select').addEventListener('change', () => load());
  onSubmit(filterForm, load);

  onSubmit(form, async () => {
    const body = {
      title: value(form, 'title').trim(),
      body: value(form, 'body').trim(),
      category: value(form, 'category') || null,
      language: value(form, 'language'),
    };
    const problems = {};
    if (!body.title) problems.title = t('validation.required');
    if (!body.body) problems.body = t('validation.required');
    else if (body.body.length > TEXT_MAX) problems.body = t('support.tooLong', { max: TEXT_MAX });
    if (showProblems(form, problems)) return;
    clearErrors(form);
    let saved;
    try {
      saved = editing
        ? await api.patch(`${CANNED}/${encodeURIComponent(editing.id)}`, body)
        : await api.post(CANNED, body);
    } catch (err) {
      if (!(err && err.handled)) showNestedError(form, err, errorFor(err));
      return;
    }
    const key = editing ? 'opsSupport.cannedAdmin.changed' : 'opsSupport.cannedAdmin.added';
    setEditing(null);
    status.replaceChildren(h('p', { class: 'notice success', 'data-testid': 'canned-done' }, t(key, { title: saved.title || body.title })));
    await load();
  });

  return {
    load,
    section: h('section', { class: 'card bills-card', 'aria-labelledby': titleId, 'data-testid': 'canned-admin' },
      h('h2', { id: titleId }, t('opsSupport.cannedAdmin.title')),
      h('p', { class: 'intro' }, t('opsSupport.cannedAdmin.intro')),
      filterForm,
      status,
      problem,
      wrap,
      h('div', { class: 'canned-form' }, formTitle, form)),
  };
}

async function ticketCategories() {
  try {
    return dataOf(await api.get('/api/v1/ops/ticket-categories'));
  } catch (err) {
    if (err && err.handled) throw err;
    return [];
  }
}

async function renderQueue() {
  const [{ me, teams }, incidentsR] = await Promise.all([
    loadMeAndTeams(),
    api.get(`${INCIDENTS}?status=open&limit=100`).then((value) => ({ value }), (reason) => ({ reason })),
  ]);
  if (incidentsR.reason && incidentsR.reason.handled) throw incidentsR.reason;
  const ctx = { me, teams, names: namesFrom(teams) };
  // a role without tickets (finance) sees the incidents, and why there is no queue
  const works = !Array.isArray(me.permissions) || me.permissions.includes('tickets.work');
  const queue = works ? queueCard(ctx) : null;
  if (queue) await queue.load();
  // supervisors and admins keep the canned replies agents insert
  const keeps = Array.isArray(me.permissions) && me.permissions.includes('support.configure');
  const canned = keeps ? cannedCard(await ticketCategories()) : null;
  if (canned) await canned.load();
  return h('section', { class: 'page wide', 'data-testid': 'page-ops-support' },
    h('h1', {}, t('opsSupport.title')),
    h('p', { class: 'intro' }, t('opsSupport.intro')),
    queue ? queue.section : h('p', { class: 'notice', 'data-testid': 'queue-not-for-role' }, t('opsSupport.noQueueForRole')),
    incidentsCard(ctx, incidentsR.value, incidentsR.reason),
    canned ? canned.section : null);
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
      fact(t('opsSupport.billingType'), c.billing_type ? (has(billingKey) ? t(billingKey) : c.billing_type) : unknown(), 'context-billing-type'),
      fact(t('opsSupport.region'), c.tax_region || unknown(), 'context-region'),
      fact(t('opsSupport.packages'), packages.length ? packages.map(pkgName).filter(Boolean).join(', ')
        : c.package || (missing('packages') || missing('accounts') || missing('billing') ? unknown() : t('opsSupport.noPackages')), 'context-packages'),
      fact(t('opsSupport.openBalance'), isMoney(c.open_balance) ? money(c.open_balance) : unknown(), 'context-open-balance')),
    unavailable.length
      ? h('p', { class: 'notice muted', 'data-testid': 'context-unavailable' }, t('opsSupport.contextUnavailable', { parts: unavailable.join(', ') }))
      : null);
}

// --- the ticket's customer ----------------------------------------------------------------------

const customerPath = (id, ...rest) => [CUSTOMERS, encodeURIComponent(id), ...rest].join('/');
const RECORDS_LIMIT = 20;

function recordsTable(testid, headings, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted', 'data-testid': `${testid}-empty` }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'ledger', 'data-testid': testid },
      h('thead', {}, h('tr', {}, headings.map(([label, cls]) => h('th', { scope: 'col', class: cls || null }, label)))),
      h('tbody', {}, rows)));
}

const known = (key, fallback) => (has(key) ? t(key) : String(fallback ?? ''));

/** What the customer panel can show, each a GET of an ops endpoint drawn as a small table. */
const RECORDS = {
  subscriptions: {
    label: () => t('opsSupport.customerPanel.subscriptions'),
    path: (id) => customerPath(id, 'subscriptions'),
    draw: (page) => recordsTable('customer-subscriptions', [
      [t('opsSupport.customerPanel.package')], [t('opsSupport.statusColumn')], [t('opsSupport.customerPanel.since'), 'when'],
    ], dataOf(page).map((sub) => h('tr', { 'data-testid': 'customer-subscription', 'data-id': sub.id || '' },
      h('td', {}, (sub.package && (sub.package.name || sub.package.code)) || sub.id || ''),
      h('td', {}, known(`subscriptionStatus.${sub.status}`, sub.status)),
      h('td', { class: 'when' }, h('time', { datetime: sub.activation_date || '' }, dateTime(sub.activation_date))))),
    t('opsSupport.customerPanel.noSubscriptions')),
  },
  ledger: {
    label: () => t('opsSupport.customerPanel.ledger'),
    path: (id) => `${customerPath(id, 'wallet', 'transactions')}?limit=${RECORDS_LIMIT}`,
    draw: (page) => recordsTable('customer-ledger', [
      [t('opsSupport.customerPanel.when'), 'when'], [t('wallet.type')], [t('opsSupport.customerPanel.what')],
      [t('opsSupport.customerPanel.amount'), 'amount'], [t('opsSupport.customerPanel.balanceAfter'), 'amount'],
    ], dataOf(page).map((tx) => h('tr', { 'data-testid': 'customer-ledger-row', 'data-type': tx.type || '', 'data-direction': tx.direction || '' },
      h('td', { class: 'when' }, h('time', { datetime: tx.created_at || '' }, dateTime(tx.created_at))),
      h('td', {}, known(`transactionType.${tx.type}`, tx.type)),
      h('td', {}, lineText(tx)),
      h('td', { class: 'amount' }, isMoney(tx.amount) ? money(tx.amount, { negate: tx.direction === 'debit' }) : ''),
      h('td', { class: 'amount' }, isMoney(tx.balance_after) ? money(tx.balance_after) : ''))),
    t('opsSupport.customerPanel.noLedger')),
  },
  invoices: {
    label: () => t('opsSupport.customerPanel.invoices'),
    path: (id) => `${customerPath(id, 'invoices')}?limit=${RECORDS_LIMIT}`,
    draw: (page) => recordsTable('customer-invoices', [
      [t('opsSupport.customerPanel.invoiceNumber')], [t('opsSupport.customerPanel.issued'), 'when'], [t('opsSupport.statusColumn')],
      [t('opsSupport.customerPanel.total'), 'amount'], [t('opsSupport.customerPanel.due'), 'amount'],
    ], dataOf(page).map((inv) => h('tr', { 'data-testid': 'customer-invoice', 'data-id': inv.id || '' },
      h('td', { class: 'serial' }, inv.number || inv.id || ''),
      h('td', { class: 'when' }, h('time', { datetime: inv.issue_date || '' }, dateTime(inv.issue_date))),
      h('td', {}, known(`bills.invoiceStatus.${inv.status}`, inv.status)),
      h('td', { class: 'amount' }, isMoney(inv.total) ? money(inv.total) : ''),
      h('td', { class: 'amount' }, isMoney(inv.amount_due) ? money(inv.amount_due) : ''))),
    t('opsSupport.customerPanel.noInvoices')),
  },
  payments: {
    label: () => t('opsSupport.customerPanel.payments'),
    path: (id) => `${customerPath(id, 'payments')}?limit=${RECORDS_LIMIT}`,
    draw: (page) => recordsTable('customer-payments', [
      [t('opsSupport.customerPanel.when'), 'when'], [t('opsSupport.customerPanel.what')], [t('opsSupport.statusColumn')],
      [t('opsSupport.customerPanel.amount'), 'amount'],
    ], dataOf(page).map((pay) => h('tr', { 'data-testid': 'customer-payment', 'data-id': pay.id || '' },
      h('td', { class: 'when' }, h('time', { datetime: pay.created_at || '' }, dateTime(pay.created_at))),
      h('td', {}, known(`bills.purpose.${pay.purpose}`, pay.purpose)),
      h('td', {}, known(`bills.paymentStatus.${pay.status}`, pay.status)),
      h('td', { class: 'amount' }, isMoney(pay.amount) ? money(pay.amount) : ''))),
    t('opsSupport.customerPanel.noPayments')),
  },
};

/**
 * The ticket's customer: name and e-mail (their account now; the ticket's captured name if the
 * account does not answer), and buttons that show their subscriptions, wallet ledger (prepaid),
 * invoices (postpaid) and card payments below, one at a time.
 */
function customerCard(tk, account) {
  const c = tk.context || {};
  const billingType = (account && account.billing_type) || c.billing_type;
  const kinds = ['subscriptions',
    ...(billingType === 'postpaid' ? [] : ['ledger']),
    ...(billingType === 'prepaid' ? [] : ['invoices']),
    'payments'];
  const records = h('div', { id: 'customer-records', class: 'customer-records', 'data-testid': 'customer-records', 'aria-live': 'polite' });
  const buttons = kinds.map((kind) => {
    const button = h('button', {
      type: 'button', class: 'button secondary small', 'data-testid': `customer-show-${kind}`,
      'aria-controls': 'customer-records', 'aria-pressed': 'false',
    }, RECORDS[kind].label());
    button.addEventListener('click', async () => {
      if (button.disabled) return;
      buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      button.disabled = true;
      records.setAttribute('aria-busy', 'true');
      records.replaceChildren(h('p', { class: 'loading' }, t('app.loading')));
      try {
        const page = await api.get(RECORDS[kind].path(tk.customer_id));
        records.replaceChildren(h('h3', {}, RECORDS[kind].label()), RECORDS[kind].draw(page),
          page && page.has_more ? h('p', { class: 'hint' }, t('opsSupport.customerPanel.latestOnly', { count: RECORDS_LIMIT })) : null);
      } catch (err) {
        if (err && err.handled) return;
        records.replaceChildren(h('p', { class: 'notice error', 'data-testid': 'customer-records-error' }, errorText(err)));
      } finally {
        button.disabled = false;
        records.removeAttribute('aria-busy');
      }
    });
    return button;
  });
  const name = (account && account.name) || c.name;
  const email = account && account.email;
  return h('section', { class: 'card bills-card', 'aria-labelledby': 'customer-title', 'data-testid': 'ticket-customer' },
    h('h2', { id: 'customer-title' }, t('opsSupport.customerPanel.title')),
    h('dl', { class: 'pairs' },
      fact(t('opsSupport.customerPanel.name'), name || h('span', { class: 'muted' }, t('opsSupport.unknown')), 'customer-name'),
      fact(t('opsSupport.customerPanel.email'), email ? h('a', { href: `mailto:${email}` }, email) : h('span', { class: 'muted' }, t('opsSupport.unknown')), 'customer-email'),
      fact(t('opsSupport.billingType'), billingType ? known(`billing.${billingType}`, billingType) : h('span', { class: 'muted' }, t('opsSupport.unknown')), 'customer-billing-type')),
    account ? null : h('p', { class: 'notice muted', 'data-testid': 'customer-account-unavailable' }, t('opsSupport.customerPanel.accountUnavailable')),
    h('div', { class: 'actions', role: 'group', 'aria-label': t('opsSupport.customerPanel.showLabel') }, buttons),
    records,
    technicalDetails([[t('opsSupport.customerPanel.customerId'), tk.customer_id]]));
}

/** The customer's account now (null when it cannot be read: the panel says so). */
async function customerAccount(customerId) {
  if (!customerId) return null;
  try {
    return await api.get(customerPath(customerId));
  } catch (err) {
    if (err && err.handled) throw err;
    return null;
  }
}

// --- canned replies -------------------------------------------------------------------------------

/** The canned replies for a category in a language (those for any category too); [] when none. */
async function cannedReplies(category, language) {
  const params = new URLSearchParams({ limit: '100', language: language || 'en' });
  if (category) params.set('category', category);
  try {
    return dataOf(await api.get(`${CANNED}?${params}`));
  } catch (err) {
    if (err && err.handled) throw err;
    return [];
  }
}

/** Insert `text` where the cursor is in the textarea (replacing a selection), then focus it. */
function insertAt(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? start;
  const before = textarea.value.slice(0, start);
  const after = textarea.value.slice(end);
  textarea.value = before + text + after;
  const at = before.length + text.length;
  textarea.focus();
  textarea.setSelectionRange(at, at);
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
}

function cannedPicker(replies, language, textarea) {
  if (!replies.length) return h('p', { class: 'hint', 'data-testid': 'canned-none' }, t('opsSupport.canned.none', { language: known(`language.${language}`, language) }));
  const id = 'ops-comment-canned';
  const select = h('select', { id, 'data-testid': 'canned-select', 'aria-describedby': `${id}-hint` },
    replies.map((r) => h('option', { value: r.id, 'data-language': r.language || '' }, r.title || '')));
  const insert = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'canned-insert' }, t('opsSupport.canned.insert'));
  insert.addEventListener('click', () => {
    const reply = replies.find((r) => r.id === select.value);
    if (reply) insertAt(textarea, reply.body || '');
  });
  return h('div', { class: 'inline-fields canned', 'data-testid': 'canned' },
    h('div', { class: 'field' },
      h('label', { for: id }, t('opsSupport.canned.label')),
      h('p', { class: 'hint', id: `${id}-hint` }, t('opsSupport.canned.hint', { language: known(`language.${language}`, language) })),
      select),
    h('div', { class: 'actions' }, insert));
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
  const account = await customerAccount(ticket.customer_id);
  const language = (account && account.language) || (ticket.context && ticket.context.language) || 'en';
  const replies = await cannedReplies(ticket.category, language);

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
    h('div', { class: 'canned-slot' }),
    textareaField({ form: 'ops-comment', name: 'text', label: t('opsSupport.commentLabel'), rows: 4, attrs: { 'data-testid': 'ops-comment-text' } }),
    h('div', { class: 'checkbox' },
      h('input', { type: 'checkbox', id: internalId, name: 'internal', 'data-testid': 'ops-comment-internal', 'aria-describedby': `${internalId}-hint` }),
      h('label', { for: internalId }, t('opsSupport.internal'))),
    h('p', { class: 'hint', id: `${internalId}-hint` }, t('opsSupport.internalHint')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary', 'data-testid': 'ops-comment-submit' }, t('opsSupport.commentSubmit'))));
  commentForm.querySelector('.canned-slot').replaceChildren(cannedPicker(replies, language, commentForm.querySelector('textarea')));
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
      fact(t('opsSupport.sla.label'), slaBadge(tk.sla), 'ops-ticket-sla'),
      fact(t('opsSupport.acknowledgedAt'), tk.acknowledged_at ? h('time', { datetime: tk.acknowledged_at }, dateTime(tk.acknowledged_at)) : t('opsSupport.notYet'), 'ops-ticket-acknowledged'),
      fact(t('opsSupport.escalation'), escalationText(tk.escalation, policies), 'ops-ticket-escalation'),
      tk.subscription_id ? fact(t('support.subscription'), h('span', { class: 'serial' }, tk.subscription_id), 'ops-ticket-subscription') : null,
      incident ? fact(t('opsSupport.incident'), t('opsSupport.incidentValue', { title: incident.title || incident.id, status: incident.status || '' }), 'ops-ticket-incident') : null,
      Array.isArray(tk.rules) && tk.rules.length ? fact(t('opsSupport.rules'), technicalDetails([[t('opsSupport.history.ruleIds'), tk.rules]]), 'ops-ticket-rules') : null,
      tk.resolution ? fact(t('opsSupport.resolution'), h('span', { class: 'message' }, tk.resolution), 'ops-ticket-resolution') : null));
    contextSlot.replaceChildren(contextCard(tk));
    descriptionSlot.replaceChildren(h('p', { class: 'message', 'data-testid': 'ops-ticket-description' }, tk.description || ''));
    historySlot.replaceChildren(opsHistoryList(tk.history, {
      names: ctx.names, me: me.id, incident: tk.incident, labelledBy: 'ops-history-title',
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
    customerCard(ticket, account),
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
