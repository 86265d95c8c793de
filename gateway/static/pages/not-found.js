import { t } from '../i18n.js';
import { h } from '../dom.js';

export async function render() {
  return h('section', { class: 'page', 'data-testid': 'page-not-found' },
    h('h1', {}, t('notFound.title')),
    h('p', {}, t('notFound.text')),
    h('p', {}, h('a', { href: '#/dashboard' }, t('notFound.back'))));
}
