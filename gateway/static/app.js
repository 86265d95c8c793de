// Single-page app: a tiny hash router, the page shell and the session.
import * as api from './api.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { h, errorText } from './dom.js';
import * as login from './pages/login.js';
import * as signup from './pages/signup.js';
import * as portalLink from './pages/portal-link.js';
import * as dashboard from './pages/dashboard.js';
import * as settings from './pages/settings.js';
import * as subscriptions from './pages/subscriptions.js';
import * as wallet from './pages/wallet.js';
import * as comingSoon from './pages/coming-soon.js';
import * as notFound from './pages/not-found.js';

// `nav` routes appear in the navigation; `billing` limits a route to one billing type.
const ROUTES = [
  { path: 'login', page: login, public: true },
  { path: 'signup', page: signup, public: true },
  { path: /^portal-link\/([^/]+)$/, page: portalLink, public: true },
  { path: 'dashboard', page: dashboard, nav: 'dashboard' },
  { path: 'subscriptions', page: subscriptions, nav: 'subscriptions' },
  { path: 'wallet', page: wallet, nav: 'wallet', billing: 'prepaid' },
  { path: 'bills', page: comingSoon, nav: 'bills', billing: 'postpaid' },
  { path: 'vouchers', page: comingSoon, nav: 'vouchers' },
  { path: 'support', page: comingSoon, nav: 'support' },
  { path: 'notifications', page: comingSoon, nav: 'notifications' },
  { path: 'settings', page: settings, nav: 'settings' },
];
const HOME = '#/dashboard';

const root = document.getElementById('app');
const session = { account: null, returnTo: null };
const flashes = new Map(); // one-shot messages shown by the next render of a page
let renderCount = 0;
let firstRender = true;

function currentPath() {
  return decodeURIComponent(location.hash.replace(/^#\/?/, ''));
}

function match(path) {
  for (const route of ROUTES) {
    if (typeof route.path === 'string' && route.path === path) return { route, params: [] };
    if (route.path instanceof RegExp) {
      const found = route.path.exec(path);
      if (found) return { route, params: found.slice(1) };
    }
  }
  return null;
}

function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

async function setAccount(account) {
  session.account = account;
  if (account && account.language) await i18n.setLanguage(account.language, { remember: true });
}

/** After a successful login or portal-link exchange. */
async function loggedIn(result) {
  api.rememberCsrf(result && result.csrf_token);
  await setAccount(result.account);
  const target = session.returnTo || HOME;
  session.returnTo = null;
  navigate(target, { replace: true });
}

async function logout() {
  try {
    await api.post('/api/v1/auth/logout', undefined, { redirectOn401: false });
  } catch {
    // the session is gone either way
  }
  session.account = null;
  api.forgetCsrf();
  flashes.set('login', { kind: 'success', text: 'login.loggedOut' });
  navigate('#/login');
}

api.onUnauthorized(() => {
  const hadSession = Boolean(session.account);
  session.account = null;
  const matched = match(currentPath());
  if (matched && !matched.route.public) session.returnTo = location.hash;
  if (hadSession) flashes.set('login', { kind: 'error', text: 'login.sessionEnded' });
  navigate('#/login');
});

/** Re-render in another language, keeping typed text (not passwords or card details) and focus. */
async function switchLanguage(lang) {
  const typed = [...root.querySelectorAll('input, select, textarea')]
    .filter((el) => el.id && el.type !== 'password' && !el.hasAttribute('data-sensitive'))
    .map((el) => [el.id, el.type === 'radio' || el.type === 'checkbox' ? el.checked : el.value]);
  const focusedId = document.activeElement && document.activeElement.id;
  await i18n.setLanguage(lang, { remember: true });
  await render();
  for (const [id, saved] of typed) {
    const el = document.getElementById(id);
    if (!el) continue;
    if (typeof saved === 'boolean') el.checked = saved;
    else el.value = saved;
  }
  const again = focusedId && document.getElementById(focusedId);
  if (again) again.focus();
}

const ctx = {
  session,
  navigate,
  loggedIn,
  setAccount,
  switchLanguage,
  takeFlash(key) {
    const flash = flashes.get(key);
    flashes.delete(key);
    return flash ? { kind: flash.kind, text: t(flash.text) } : null;
  },
  setFlash(key, kind, text) {
    flashes.set(key, { kind, text });
  },
  refreshShell() {
    const name = root.querySelector('[data-testid="account-name"]');
    if (name && session.account) name.textContent = session.account.name;
  },
};

function skipLink() {
  return h('a', {
    class: 'skip-link',
    href: '#main',
    on: {
      click(event) {
        event.preventDefault();
        document.getElementById('main').focus();
      },
    },
  }, t('app.skipToContent'));
}

function languageSwitcher() {
  const current = i18n.currentLanguage();
  return h('div', { class: 'language-switcher', role: 'group', 'aria-label': t('language.label'), 'data-testid': 'language-switcher' },
    i18n.LANGUAGES.map((lang) => h('button', {
      type: 'button',
      id: `language-${lang}`,
      lang,
      class: 'link-button',
      'data-testid': `language-${lang}`,
      'aria-pressed': String(lang === current),
      on: { click: () => lang !== i18n.currentLanguage() && switchLanguage(lang) },
    }, t(`language.${lang}`))));
}

function publicShell(main) {
  return [
    skipLink(),
    h('header', { class: 'app-header' },
      h('p', { class: 'brand' }, t('app.name')),
      languageSwitcher()),
    h('div', { class: 'public-layout' }, main),
  ];
}

function navigation(activeNav) {
  const billing = session.account && session.account.billing_type;
  const items = ROUTES.filter((r) => r.nav && (!r.billing || r.billing === billing));
  const list = h('ul', { id: 'nav-list', class: 'nav-list' },
    items.map((r) => h('li', {},
      h('a', {
        href: `#/${r.path}`,
        'data-testid': `nav-${r.nav}`,
        'aria-current': r.nav === activeNav ? 'page' : null,
      }, t(`nav.${r.nav}`)))));
  const toggle = h('button', {
    type: 'button',
    class: 'nav-toggle',
    'data-testid': 'nav-toggle',
    'aria-expanded': 'false',
    'aria-controls': 'nav-list',
  }, h('span', { class: 'nav-toggle-icon', 'aria-hidden': 'true' }), t('nav.menu'));
  const nav = h('nav', { class: 'nav', 'data-testid': 'nav', 'aria-label': t('nav.label'), 'data-open': 'false' }, toggle, list);
  const setOpen = (open) => {
    nav.dataset.open = String(open);
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', () => setOpen(nav.dataset.open !== 'true'));
  nav.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && nav.dataset.open === 'true') {
      setOpen(false);
      toggle.focus();
    }
  });
  list.addEventListener('click', (event) => {
    if (event.target.closest('a')) setOpen(false);
  });
  return nav;
}

function accountShell(main, activeNav) {
  return [
    skipLink(),
    h('header', { class: 'app-header' },
      h('p', { class: 'brand' }, t('app.name')),
      h('div', { class: 'account-box' },
        h('span', { class: 'visually-hidden' }, t('header.account')),
        h('span', { class: 'account-name', 'data-testid': 'account-name' }, session.account.name),
        h('button', { type: 'button', class: 'button secondary', 'data-testid': 'logout', on: { click: logout } }, t('header.logout')))),
    h('div', { class: 'app-layout' }, navigation(activeNav), main),
  ];
}

function errorPanel(err) {
  return h('section', { class: 'page', 'data-testid': 'page-error' },
    h('p', { class: 'notice error', role: 'alert' }, errorText(err)),
    h('button', { type: 'button', class: 'button secondary', on: { click: () => render() } }, t('app.retry')));
}

async function render() {
  const token = ++renderCount;
  const isCurrent = () => token === renderCount;
  const path = currentPath();
  if (!path) {
    navigate(HOME, { replace: true });
    return;
  }
  const matched = match(path);
  const route = matched ? matched.route : null;

  // Logged-in pages need the account (from login, or from the session cookie).
  if (!route || !route.public) {
    if (!session.account) {
      try {
        await setAccount(await api.get('/api/v1/me'));
      } catch (err) {
        if (err.handled || !isCurrent()) return;
        root.replaceChildren(...publicShell(h('main', { id: 'main', tabindex: '-1' }, errorPanel(err))));
        return;
      }
      if (!isCurrent()) return;
    }
  } else if (session.account && (route.page === login || route.page === signup)) {
    navigate(HOME, { replace: true });
    return;
  }

  const available = route && (!route.billing || route.billing === session.account.billing_type);
  const page = available ? route.page : notFound;
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-busy': 'true' }, h('p', { class: 'loading' }, t('app.loading')));
  root.replaceChildren(...(route && route.public ? publicShell(main) : accountShell(main, available ? route.nav : null)));

  let content;
  try {
    content = await page.render({ ...ctx, params: matched ? matched.params : [], nav: route && route.nav, isCurrent });
  } catch (err) {
    if (err && err.handled) return;
    if (!(err && err.code)) console.error(err); // a bug, not an API answer
    content = errorPanel(err);
  }
  if (!isCurrent()) return;
  main.replaceChildren(content);
  main.removeAttribute('aria-busy');
  const heading = main.querySelector('h1');
  document.title = heading ? `${heading.textContent} – ${t('app.name')}` : t('app.name');
  if (!firstRender && heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
  firstRender = false;
}

window.addEventListener('hashchange', () => render());
i18n.setLanguage(i18n.initialLanguage()).then(render, (err) => {
  console.error(err);
  root.textContent = 'The portal could not be loaded. / Das Portal konnte nicht geladen werden.';
});
