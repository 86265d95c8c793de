import { t } from '../i18n.js';
import { h } from '../dom.js';

export async function render(ctx) {
  return h('section', { class: 'page', 'data-testid': `page-${ctx.nav}` },
    h('h1', {}, t(`nav.${ctx.nav}`)),
    h('p', { class: 'notice', 'data-testid': 'coming-soon' }, t('comingSoon.text')));
}
