// Ops → Approvals and audit (`#/ops/governance`): money actions above their maker's bounds,
// waiting for a second person (who approves or rejects them here: the server refuses the one
// who asked), and, for admins, the audit log with filters. What each part shows follows the
// account's permissions (GET /api/v1/me → permissions); the API refuses everyone else anyway.
import * as api from '../api.js';
import { t, has } from '../i18n.js';
import { h, errorText, resultRegion, pagedRows, onLoadMore, latestReload } from '../dom.js';
import { money, dateTime } from '../format.js';

const APPROVALS = '/api/v1/ops/approvals';
const AUDIT = '/api/v1/ops/audit-log';

function label(group, key) {
  const full = `opsGovernance.${group}.${String(key || '').replace(/\./g, '_')}`;
  return has(full) ? t(full) : String(key || '');
}

function errorRegion(testid) {
  return h('div', { class: 'action-error', 'data-testid': testid, role: 'alert', 'aria-live': 'assertive', 'aria-atomic': 'true' });
}

function approvalsCard(ctx, may) {
  const titleId = 'approvals-title';
  const status = resultRegion('approvals-status');
  const problem = errorRegion('approvals-error');
  const body = h('tbody', {});
  const table = h('table', { class: 'table', 'data-testid': 'approvals-table', 'aria-labelledby': titleId },
    h('thead', {}, h('tr', {},
      ['action', 'amount', 'customer', 'requestedBy', 'reason', 'asked', 'decision']
        .map((col) => h('th', { scope: 'col' }, t(`opsGovernance.columns.${col}`))))),
    body);
  const wrap = h('div', {});
  const more = h('button', { type: 'button', class: 'button secondary' }, t('opsGovernance.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const empty = () => h('p', { class: 'muted', 'data-testid': 'approvals-empty' }, t('opsGovernance.nonePending'));

  const decide = async (approval, verb, note, row) => {
    problem.replaceChildren();
    for (const button of row.querySelectorAll('button')) button.disabled = true;
    try {
      const done = await api.post(`${APPROVALS}/${encodeURIComponent(approval.id)}/${verb}`,
        note ? { note } : {});
      status.replaceChildren(h('p', { class: 'notice success' },
        t(`opsGovernance.done.${done.status}`, { amount: money(done.amount) })));
      await reload();
    } catch (err) {
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
      for (const button of row.querySelectorAll('button')) button.disabled = false;
    }
  };

  const row = (approval) => {
    const noteId = `note-${approval.id}`;
    const note = h('input', { id: noteId, type: 'text', maxlength: '500', 'data-testid': 'approval-note' });
    const cells = h('td', {});
    const tr = h('tr', { 'data-testid': 'approval-row', 'data-id': approval.id },
      h('th', { scope: 'row' }, label('actions', approval.action)),
      h('td', {}, money(approval.amount)),
      h('td', {}, approval.customer_id || '—'),
      h('td', {}, approval.requested_by),
      h('td', {}, label('reasons', approval.reason)),
      h('td', {}, dateTime(approval.created_at)),
      cells);
    if (may.decide) {
      const approve = h('button', { type: 'button', class: 'button', 'data-testid': 'approve' }, t('opsGovernance.approve'));
      const reject = h('button', { type: 'button', class: 'button secondary', 'data-testid': 'reject' }, t('opsGovernance.reject'));
      approve.addEventListener('click', () => decide(approval, 'approve', note.value.trim(), tr));
      reject.addEventListener('click', () => decide(approval, 'reject', note.value.trim(), tr));
      cells.append(h('label', { for: noteId, class: 'visually-hidden' }, t('opsGovernance.note')), note,
        h('div', { class: 'actions' }, approve, reject));
    } else {
      cells.append(t('opsGovernance.waiting'));
    }
    return tr;
  };

  const rows = pagedRows({ body, table, empty, wrap, more, moreSlot, row });
  const load = (cursor) => api.get(`${APPROVALS}?status=pending&limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  const reload = latestReload(problem, t('opsGovernance.loadFailed'), () => load(null), (page) => rows.draw(page));
  onLoadMore(more, problem, rows.cursor, async (cursor) => rows.draw(await load(cursor), { append: true }));
  reload();
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('opsGovernance.approvalsTitle')),
    h('p', { class: 'muted' }, t('opsGovernance.approvalsIntro')),
    status, problem, wrap, moreSlot);
}

function auditCard() {
  const titleId = 'audit-title';
  const problem = errorRegion('audit-error');
  const form = h('form', { class: 'filters', 'data-testid': 'audit-filters', novalidate: '' });
  const inputs = {};
  for (const name of ['actor_id', 'action', 'target']) {
    const id = `audit-${name}`;
    inputs[name] = h('input', { id, name, type: 'text', maxlength: '200' });
    form.append(h('div', { class: 'field' }, h('label', { for: id }, t(`opsGovernance.filters.${name}`)), inputs[name]));
  }
  form.append(h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button' }, t('opsGovernance.filter'))));
  const body = h('tbody', {});
  const table = h('table', { class: 'table', 'data-testid': 'audit-table', 'aria-labelledby': titleId },
    h('thead', {}, h('tr', {},
      ['when', 'who', 'role', 'what', 'target', 'outcome']
        .map((col) => h('th', { scope: 'col' }, t(`opsGovernance.columns.${col}`))))),
    body);
  const wrap = h('div', {});
  const more = h('button', { type: 'button', class: 'button secondary' }, t('opsGovernance.loadMore'));
  const moreSlot = h('div', { class: 'actions' });
  const empty = () => h('p', { class: 'muted', 'data-testid': 'audit-empty' }, t('opsGovernance.noEntries'));
  const row = (entry) => h('tr', { 'data-testid': 'audit-row' },
    h('th', { scope: 'row' }, dateTime(entry.at)),
    h('td', {}, entry.actor_id || '—'),
    h('td', {}, entry.actor_role || '—'),
    h('td', {}, entry.action),
    h('td', {}, entry.target || '—'),
    h('td', {}, label('outcomes', entry.outcome)));
  const rows = pagedRows({ body, table, empty, wrap, more, moreSlot, row });
  const query = (cursor) => {
    const params = new URLSearchParams({ limit: '50' });
    for (const [name, input] of Object.entries(inputs)) {
      if (input.value.trim()) params.set(name, input.value.trim());
    }
    if (cursor) params.set('cursor', cursor);
    return api.get(`${AUDIT}?${params}`);
  };
  const reload = latestReload(problem, t('opsGovernance.loadFailed'), () => query(null), (page) => rows.draw(page));
  onLoadMore(more, problem, rows.cursor, async (cursor) => rows.draw(await query(cursor), { append: true }));
  form.addEventListener('submit', (event) => { event.preventDefault(); reload(); });
  reload();
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('opsGovernance.auditTitle')),
    h('p', { class: 'muted' }, t('opsGovernance.auditIntro')),
    form, problem, wrap, moreSlot);
}

export async function render(ctx) {
  const account = (ctx.session && ctx.session.account) || {};
  const permissions = Array.isArray(account.permissions) ? account.permissions : [];
  const may = { read: permissions.includes('approvals.read'), decide: permissions.includes('approvals.decide'), audit: permissions.includes('audit.read') };
  return h('section', { class: 'page wide', 'data-testid': 'page-ops-governance' },
    h('h1', {}, t('opsGovernance.title')),
    h('p', { class: 'intro' }, t('opsGovernance.intro')),
    may.read ? approvalsCard(ctx, may) : null,
    may.audit ? auditCard() : null);
}
