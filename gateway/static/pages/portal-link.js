import * as api from '../api.js';
import { t } from '../i18n.js';
import { h, errorText } from '../dom.js';
import { needsSecondStep, secondStep } from '../second-step.js';

export async function render(ctx) {
  const [token] = ctx.params;
  const status = h('div', { class: 'form-message', 'data-testid': 'form-message', role: 'status', 'aria-live': 'polite' },
    h('p', {}, t('portalLink.working')));
  const section = h('section', { class: 'page card narrow', 'data-testid': 'page-portal-link' },
    h('h1', {}, t('portalLink.title')),
    status);

  try {
    const result = await api.post(`/api/v1/auth/portal-link/${encodeURIComponent(token)}`, undefined, { redirectOn401: false });
    // two-step sign-in is on: the link is the first step only (the token leaves the address)
    if (needsSecondStep(result)) {
      history.replaceState(null, '', '#/login');
      return secondStep(ctx, result);
    }
    // Replace the history entry so the token does not stay in the back button.
    await ctx.loggedIn(result);
  } catch (err) {
    status.dataset.kind = 'error';
    status.setAttribute('role', 'alert');
    status.replaceChildren(h('p', {}, t('portalLink.failed')), h('p', {}, errorText(err)));
    section.append(h('p', {}, h('a', { href: '#/login' }, t('portalLink.toLogin'))));
  }
  return section;
}
