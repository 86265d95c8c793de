// Settings → Household: the holder's members (sharing the wallet, a monthly limit; changed or
// removed) and open invitations (sent, withdrawn), and the households the person belongs to
// (switched to, or left). Also the switch itself (`actAs`), which the header's account switcher,
// the acting banner and the join page use.
import * as api from './api.js';
import { t } from './i18n.js';
import {
  h, field, formMessage, submitButton, value, onSubmit, showProblems, showApiError, setMessage,
  clearErrors, errorText, EMAIL_RE, sectionFeedback,
} from './dom.js';
import { date, money, isMoney, parseAmount, amountInput, fractionDigits } from './format.js';

const HOUSEHOLD = '/api/v1/household';
const MINE = '/api/v1/me/households';

const settle = (promise) => promise.then((value) => ({ value }), (err) => {
  if (err && err.handled) throw err;
  return { error: err };
});

/** A monthly limit as the API gives it (money, or minor units of `currency`) → money or null. */
function limitMoney(limit, currency) {
  if (isMoney(limit)) return limit;
  if (Number.isInteger(limit) && currency) return { amount: limit, currency };
  return null;
}

function limitText(limit, currency) {
  const m = limitMoney(limit, currency);
  return m ? t('household.limitPerMonth', { amount: money(m) }) : t('household.noLimit');
}

/**
 * Switch the session to a household (its account id) or back to the person's own (null),
 * reload the account, and land where the person may be: Subscriptions in a household, the
 * dashboard in their own account.
 */
export async function actAs(ctx, accountId) {
  await api.put('/api/v1/me/acting', { account_id: accountId });
  await ctx.setAccount(await api.get('/api/v1/me'));
  ctx.navigate(accountId ? '#/subscriptions' : '#/dashboard');
}

/** The limit input's text → {amount} (minor units), {none} or {problem}. */
function readLimit(text, currency) {
  const raw = text.trim();
  if (!raw) return { none: true };
  const parsed = parseAmount(raw, currency);
  if (parsed.error === 'decimals') return { problem: t('household.limitDecimals', { digits: fractionDigits(currency) }) };
  if (parsed.error || parsed.amount <= 0) return { problem: t('household.limitProblem') };
  return { amount: parsed.amount };
}

function inviteForm(currency, reload, status) {
  const F = 'household-invite';
  const form = h('form', { class: 'form', 'data-testid': 'household-invite-form', novalidate: true, 'aria-labelledby': 'household-invite-title' },
    formMessage(),
    field({ form: F, name: 'email', label: t('household.inviteEmail'), type: 'email', attrs: { autocomplete: 'off', inputmode: 'email', spellcheck: 'false' } }),
    h('div', { class: 'checkbox' },
      h('input', { type: 'checkbox', id: `${F}-share`, name: 'share_wallet', 'data-testid': 'household-invite-share' }),
      h('label', { for: `${F}-share` }, t('household.shareWallet'))),
    field({
      form: F, name: 'monthly_limit', label: t('household.limitLabel', { currency }), hint: t('household.limitHint'),
      attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'household-invite-limit' },
    }),
    h('div', { class: 'actions' }, submitButton(t('household.invite'))));
  onSubmit(form, async () => {
    const email = value(form, 'email').trim();
    const limit = readLimit(value(form, 'monthly_limit'), currency);
    const problems = {};
    if (!email) problems.email = t('validation.required');
    else if (!EMAIL_RE.test(email)) problems.email = t('validation.email');
    if (limit.problem) problems.monthly_limit = limit.problem;
    if (showProblems(form, problems)) return;
    try {
      await api.post(`${HOUSEHOLD}/invitations`, {
        email,
        share_wallet: form.elements.namedItem('share_wallet').checked,
        monthly_limit: limit.none ? null : { amount: limit.amount, currency },
      });
    } catch (err) {
      showApiError(form, err, { fieldFor: { HOUSEHOLD_MEMBER_EXISTS: 'email' } });
      return;
    }
    form.reset();
    clearErrors(form);
    await reload();
    status.replaceChildren(h('p', { class: 'notice success' }, t('household.invited', { email })));
    status.focus();
  });
  return form;
}

function memberItem(member, currency, reload, say, fail) {
  const F = `member-${member.member_id}`;
  const limit = limitMoney(member.monthly_limit, currency);
  const form = h('form', { class: 'form', 'data-testid': 'household-member-form', novalidate: true, 'aria-label': t('household.changeFor', { name: member.name }) },
    formMessage(),
    h('div', { class: 'checkbox' },
      h('input', { type: 'checkbox', id: `${F}-share`, name: 'share_wallet', checked: Boolean(member.share_wallet), 'data-testid': 'member-share' }),
      h('label', { for: `${F}-share` }, t('household.shareWallet'))),
    field({
      form: F, name: 'monthly_limit', label: t('household.limitLabel', { currency }), hint: t('household.limitHint'),
      value: limit ? amountInput(limit) : '',
      attrs: { inputmode: 'decimal', autocomplete: 'off', class: 'amount-input', 'data-testid': 'member-limit' },
    }),
    h('div', { class: 'actions' },
      submitButton(t('household.save')),
      h('button', {
        type: 'button', class: 'button danger', 'data-testid': 'member-remove',
        'aria-label': t('household.removeLabel', { name: member.name }),
      }, t('household.remove'))));
  onSubmit(form, async () => {
    const read = readLimit(value(form, 'monthly_limit'), currency);
    if (showProblems(form, read.problem ? { monthly_limit: read.problem } : {})) return;
    try {
      await api.patch(`${HOUSEHOLD}/members/${encodeURIComponent(member.member_id)}`, {
        share_wallet: form.elements.namedItem('share_wallet').checked,
        monthly_limit: read.none ? null : { amount: read.amount, currency },
      });
      clearErrors(form);
      setMessage(form, 'success', t('household.saved'));
    } catch (err) {
      showApiError(form, err);
    }
  });
  const remove = form.querySelector('[data-testid="member-remove"]');
  remove.addEventListener('click', async () => {
    if (remove.disabled) return;
    remove.disabled = true;
    try {
      await api.del(`${HOUSEHOLD}/members/${encodeURIComponent(member.member_id)}`); // re-auth if old
      await reload();
      say(t('household.removed', { name: member.name }));
    } catch (err) {
      remove.disabled = false;
      fail(err);
    }
  });
  return h('li', { class: 'household-item', 'data-testid': 'household-member', 'data-member-id': member.member_id },
    h('h4', {}, member.name || member.email),
    h('p', { class: 'hint' }, member.email, ' · ', t('household.since', { date: date(member.since) })),
    h('p', { 'data-testid': 'member-terms' },
      member.share_wallet ? t('household.sharesWallet') : t('household.ownWallet'), ' · ', limitText(member.monthly_limit, currency)),
    form);
}

function invitationItem(invitation, currency, reload, say, fail) {
  const withdraw = h('button', {
    type: 'button', class: 'button secondary small', 'data-testid': 'invitation-withdraw',
    'aria-label': t('household.withdrawLabel', { email: invitation.email }),
  }, t('household.withdraw'));
  withdraw.addEventListener('click', async () => {
    if (withdraw.disabled) return;
    withdraw.disabled = true;
    try {
      await api.del(`${HOUSEHOLD}/invitations/${encodeURIComponent(invitation.id)}`);
      await reload();
      say(t('household.withdrawn', { email: invitation.email }));
    } catch (err) {
      withdraw.disabled = false;
      fail(err);
    }
  });
  return h('li', { class: 'household-item', 'data-testid': 'household-invitation', 'data-invitation-id': invitation.id },
    h('h4', {}, invitation.email),
    h('p', {}, invitation.share_wallet ? t('household.sharesWallet') : t('household.ownWallet'), ' · ', limitText(invitation.monthly_limit, currency)),
    h('p', { class: 'hint' }, t('household.expires', { date: date(invitation.expires_at) })),
    h('div', { class: 'actions' }, withdraw));
}

/** "Switch to <holder>'s household": a button that moves this session into it (`fail` gets
 * what went wrong, and the button can be pressed again). */
export function switchButton(ctx, membership, { testid, className, fail }) {
  const button = h('button', { type: 'button', class: className, 'data-testid': testid },
    t('household.switchTo', { holder: (membership && membership.holder_name) || '' }));
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await actAs(ctx, membership.account_id);
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  });
  return button;
}

function membershipItem(ctx, membership, currency, reload, say, fail) {
  const name = membership.holder_name;
  const switchTo = switchButton(ctx, membership, { testid: 'membership-switch', className: 'button primary small', fail });
  const leave = h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'membership-leave' }, t('household.leave', { holder: name }));
  leave.addEventListener('click', async () => {
    if (leave.disabled) return;
    leave.disabled = true;
    try {
      await api.del(`${MINE}/${encodeURIComponent(membership.account_id)}`);
      if (ctx.forgetHouseholds) ctx.forgetHouseholds();
      await reload();
      say(t('household.left', { holder: name }));
    } catch (err) {
      leave.disabled = false;
      fail(err);
    }
  });
  return h('li', { class: 'household-item', 'data-testid': 'household-membership', 'data-account-id': membership.account_id },
    h('h4', {}, t('household.holdersHousehold', { holder: name })),
    h('p', {}, membership.share_wallet ? t('household.walletShared') : t('household.walletNotShared'), ' · ',
      limitText(membership.monthly_limit, currency)),
    h('p', { class: 'hint' }, t('household.since', { date: date(membership.since) })),
    h('div', { class: 'actions' }, switchTo, leave));
}

/** The Household section of Settings: it loads itself and redraws after each change. */
export async function householdSection(ctx) {
  const currency = (ctx.session.account && ctx.session.account.currency) || 'EUR';
  const { status, problem, say, fail } = sectionFeedback('household');
  const mine = h('div', { class: 'household-mine' });
  const memberships = h('div', { class: 'household-memberships' });

  let reload;
  const draw = (household, belongs) => {
    if (household.error) {
      mine.replaceChildren(h('p', { class: 'notice muted', 'data-testid': 'household-unavailable' }, errorText(household.error)));
    } else {
      const members = Array.isArray(household.value.members) ? household.value.members : [];
      const invitations = Array.isArray(household.value.invitations) ? household.value.invitations : [];
      mine.replaceChildren(...[
        h('h3', { id: 'household-members-title' }, t('household.membersTitle')),
        members.length
          ? h('ul', { class: 'household-list', 'aria-labelledby': 'household-members-title', 'data-testid': 'household-members' },
            members.map((m) => memberItem(m, currency, reload, say, fail)))
          : h('p', { class: 'muted', 'data-testid': 'household-no-members' }, t('household.noMembers')),
        invitations.length ? [
          h('h3', { id: 'household-invitations-title' }, t('household.invitationsTitle')),
          h('ul', { class: 'household-list', 'aria-labelledby': 'household-invitations-title', 'data-testid': 'household-invitations' },
            invitations.map((i) => invitationItem(i, currency, reload, say, fail)))] : null,
        h('h3', { id: 'household-invite-title' }, t('household.inviteTitle')),
        h('p', { class: 'hint' }, t('household.inviteIntro')),
        inviteForm(currency, () => reload(), status)].flat().filter(Boolean));
    }
    const list = belongs.value && Array.isArray(belongs.value.data) ? belongs.value.data : [];
    memberships.replaceChildren(
      h('h3', { id: 'household-memberships-title' }, t('household.membershipsTitle')),
      belongs.error
        ? h('p', { class: 'notice muted' }, errorText(belongs.error))
        : list.length
          ? h('ul', { class: 'household-list', 'aria-labelledby': 'household-memberships-title', 'data-testid': 'household-memberships' },
            list.map((m) => membershipItem(ctx, m, currency, reload, say, fail)))
          : h('p', { class: 'muted', 'data-testid': 'household-no-memberships' }, t('household.noMemberships')));
  };
  const load = () => Promise.all([settle(api.get(HOUSEHOLD)), settle(api.get(MINE))]);
  reload = async () => {
    try {
      draw(...(await load()));
    } catch (err) {
      fail(err);
    }
  };
  draw(...(await load()));

  return h('section', { class: 'card', 'aria-labelledby': 'household-title', 'data-testid': 'settings-household' },
    h('h2', { id: 'household-title' }, t('household.title')),
    h('p', { class: 'intro' }, t('household.intro')),
    status, problem, mine, memberships);
}
