// #/household/join/<token>: the link in a household invitation. Signed in, it offers to join
// (only the invited address may); signed out, it says to sign in or sign up with the invited
// address first and comes back here afterwards (the session's returnTo, which login and
// sign-up follow).
import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, errorText, resultRegion } from '../dom.js';
import { switchButton } from '../household.js';

export async function render(ctx) {
  const token = (ctx.params || [])[0] || '';
  const here = `#/household/join/${encodeURIComponent(token)}`;
  if (!ctx.session.account) {
    ctx.session.returnTo = here;
    return h('section', { class: 'page card narrow', 'data-testid': 'page-household-join' },
      h('h1', {}, t('householdJoin.title')),
      h('p', { class: 'intro', 'data-testid': 'household-join-sign-in' }, t('householdJoin.signInFirst')),
      h('p', { class: 'switch' },
        h('a', { href: '#/login', 'data-testid': 'household-join-login' }, t('householdJoin.toLogin')), ' · ',
        h('a', { href: '#/signup', 'data-testid': 'household-join-signup' }, t('householdJoin.toSignup'))));
  }

  const status = resultRegion('household-join-status');
  const problem = h('div', { class: 'action-error', role: 'alert', 'data-testid': 'household-join-error' });
  const join = h('button', { type: 'button', class: 'button primary', 'data-testid': 'household-join' }, t('householdJoin.join'));
  const body = h('div', { class: 'household-join-body' },
    h('p', { class: 'intro' }, t('householdJoin.intro', { email: ctx.session.account.email })),
    h('div', { class: 'actions' }, join));
  join.addEventListener('click', async () => {
    if (join.disabled) return;
    join.disabled = true;
    problem.replaceChildren();
    let membership;
    try {
      membership = await api.post('/api/v1/me/households/join', { token });
    } catch (err) {
      join.disabled = false;
      if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err)));
      return;
    }
    if (ctx.forgetHouseholds) ctx.forgetHouseholds(); // the switcher offers it from now on
    const holder = (membership && membership.holder_name) || '';
    const switchTo = switchButton(ctx, membership, {
      testid: 'household-join-switch', className: 'button primary',
      fail: (err) => { if (!(err && err.handled)) problem.replaceChildren(h('p', {}, errorText(err))); },
    });
    body.replaceChildren(
      h('div', { class: 'actions' }, switchTo, h('a', { class: 'button secondary', href: '#/dashboard' }, t('householdJoin.stay'))));
    status.replaceChildren(h('p', { class: 'notice success', 'data-testid': 'household-joined' }, t('householdJoin.joined', { holder })));
    switchTo.focus();
  });
  return h('section', { class: 'page card narrow', 'data-testid': 'page-household-join' },
    h('h1', {}, t('householdJoin.title')),
    status, problem, body);
}
