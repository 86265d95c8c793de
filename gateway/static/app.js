// Single-page app: a tiny hash router, the page shell and the session.
import * as api from './api.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';
import { h, errorText } from './dom.js';
import { icon } from './icons.js';
import { loadBranding, brandName, brandMark } from './branding.js';
import * as login from './pages/login.js';
import * as signup from './pages/signup.js';
import * as portalLink from './pages/portal-link.js';
import * as forgotPassword from './pages/forgot-password.js';
import * as resetPassword from './pages/reset-password.js';
import * as verifyEmail from './pages/verify-email.js';
import { confirmIdentity } from './reauth.js';
import * as dashboard from './pages/dashboard.js';
import * as settings from './pages/settings.js';
import * as subscriptions from './pages/subscriptions.js';
import * as wallet from './pages/wallet.js';
import * as bills from './pages/bills.js';
import * as vouchers from './pages/vouchers.js';
import * as notifications from './pages/notifications.js';
import * as support from './pages/support.js';
import * as notFound from './pages/not-found.js';
import * as householdJoin from './pages/household-join.js';
import { actAs } from './household.js';
import './offline.js'; // the last dashboard offline; registers the service worker (sw.js)

// Staff pages are loaded when a staff member first opens one (the build makes each a chunk of
// its own, which customers never download).
const lazyPage = (load) => ({ render: async (ctx) => (await load()).render(ctx) });
const opsVouchers = lazyPage(() => import('./pages/ops-vouchers.js'));
const opsSupport = lazyPage(() => import('./pages/ops-support.js'));
const opsGovernance = lazyPage(() => import('./pages/ops-governance.js'));
const opsInsights = lazyPage(() => import('./pages/ops-insights.js'));
// Insights too: a chunk of its own (its charts load Chart.js, a chunk of their own, when drawn).
const insights = lazyPage(() => import('./pages/insights.js'));

// `nav` routes appear in the navigation (a pattern route only marks its tab as the current one);
// `billing` limits a route to one billing type, `roles` to some roles (ops pages: agents and
// admins; the API refuses everyone else all the same).
const OPS_ROLES = ['agent', 'supervisor', 'finance', 'admin'];  // services/common/permissions.py
const ROUTES = [
  { path: 'login', page: login, public: true },
  { path: 'signup', page: signup, public: true },
  { path: /^portal-link\/([^/]+)$/, page: portalLink, public: true },
  { path: 'forgot-password', page: forgotPassword, public: true },
  { path: /^reset-password\/([^/]+)$/, page: resetPassword, public: true },
  { path: /^verify-email\/([^/]+)$/, page: verifyEmail, public: true }, // signed in or not
  // a household invitation's link: signed in, in the account's frame; signed out, public
  { path: /^household\/join\/([^/]+)$/, page: householdJoin, public: true, optionalSession: true },
  { path: 'dashboard', page: dashboard, nav: 'dashboard' },
  { path: 'subscriptions', page: subscriptions, nav: 'subscriptions' },
  // a recommendation's Apply: the change flow for that subscription with the change chosen, previewed
  { path: /^subscriptions\/apply\/([^/]+)\/(remove_addon|change_package)\/([^/]+)$/, page: subscriptions, nav: 'subscriptions' },
  { path: 'insights', page: insights, nav: 'insights' },
  { path: 'wallet', page: wallet, nav: 'wallet', billing: 'prepaid' },
  { path: /^wallet\/top-up\/(\d{1,9})$/, page: wallet, nav: 'wallet', billing: 'prepaid' }, // a top-up of this much (minor units) filled in
  { path: 'bills', page: bills, nav: 'bills', billing: 'postpaid' },
  { path: /^bills\/([^/]+)$/, page: bills, nav: 'bills', billing: 'postpaid' }, // one invoice
  { path: 'vouchers', page: vouchers, nav: 'vouchers' },
  { path: 'support', page: support, nav: 'support' },
  { path: /^support\/([^/]+)$/, page: support, nav: 'support' }, // one ticket
  { path: 'notifications', page: notifications, nav: 'notifications' },
  { path: 'settings', page: settings, nav: 'settings' },
  { path: /^settings\/(profile|password|cards|notifications|security|privacy|household)$/, page: settings, nav: 'settings' }, // one section first (on a phone: only it)
  { path: 'ops/vouchers', page: opsVouchers, nav: 'opsVouchers', roles: OPS_ROLES },
  { path: 'ops/support', page: opsSupport, nav: 'opsSupport', roles: OPS_ROLES },
  { path: /^ops\/support\/([^/]+)$/, page: opsSupport, nav: 'opsSupport', roles: OPS_ROLES }, // one ticket
  { path: 'ops/governance', page: opsGovernance, nav: 'opsGovernance', permissions: ['approvals.read', 'audit.read'] },
  { path: 'ops/insights', page: opsInsights, nav: 'opsInsights', permissions: ['insights.read'] }, // admins
];
const HOME = '#/dashboard';
// Staff (OPS_ROLES) land on the support desk with staff navigation: a staff account has no
// subscriptions, wallet or bills, so the customer's pages are not theirs (opening one lands on
// the desk).
const STAFF_HOME = '#/ops/support';
const CUSTOMER_PAGES = ['dashboard', 'subscriptions', 'insights', 'wallet', 'bills', 'vouchers', 'support'];
const isStaff = () => OPS_ROLES.includes((session.account || {}).role);
// A household member acting on the holder's account (GET /me's `acting`) may use only their
// own Settings sections, Subscriptions and the catalog in it, and the wallet when it is shared;
// the API refuses the rest (403 MEMBER_NOT_ALLOWED), so the rest is not offered.
const ACTING_HOME = '#/subscriptions';
const acting = () => (session.account && session.account.acting) || null;
const home = () => (isStaff() ? STAFF_HOME : acting() ? ACTING_HOME : HOME);
const customerPage = (route) => Boolean(route && !route.public && CUSTOMER_PAGES.includes(route.nav));

const root = document.getElementById('app');
// scope "mfa_enrolment": staff whose operator requires two-step sign-in and who have not set it
// up; until they do, every call but those of Settings → Security answers MFA_ENROLMENT_REQUIRED
// households: the households the person belongs to (GET /me/households), null until asked
const session = { account: null, returnTo: null, scope: null, households: null };
const ENROLMENT_HASH = '#/settings/security';
const flashes = new Map(); // one-shot messages shown by the next render of a page
let renderCount = 0;
let firstRender = true;

// The unread count on the Notifications link (and on the phone's menu button). Pages that load
// it anyway report it (the dashboard, the inbox, marking read); any other page asks for it when
// it opens unless it is fresh, and a light poll asks once a minute while the tab is visible.
// One request at a time; a background ask never sends the customer to the login page.
const UNREAD_POLL_MS = 60_000;
const UNREAD_FRESH_MS = 10_000;
const unread = { count: null, at: 0, pending: null, timer: null, stopped: false };

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
  forgetUnread(); // perhaps another account than before
  session.households = null;
  await setAccount(result.account);
  session.scope = (result && result.scope) || null;
  if (session.scope === 'mfa_enrolment') {
    flashes.set('security', { kind: 'warning', text: 'strongSignIn.enrolmentRequired' });
    navigate(ENROLMENT_HASH, { replace: true });
    return;
  }
  const target = session.returnTo || home();
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
  session.scope = null;
  session.households = null;
  forgetUnread();
  api.forgetCsrf();
  flashes.set('login', { kind: 'success', text: 'login.loggedOut' });
  navigate('#/login');
}

api.onUnauthorized(() => {
  const hadSession = Boolean(session.account);
  session.account = null;
  session.scope = null;
  forgetUnread();
  const matched = match(currentPath());
  if (matched && !matched.route.public) session.returnTo = location.hash;
  if (hadSession) flashes.set('login', { kind: 'error', text: 'login.sessionEnded' });
  navigate('#/login');
});

// A session limited to setting up two-step sign-in (after a reload the first refused call says
// so): Settings → Security, with a word on why.
api.onEnrolmentRequired(() => {
  const known = session.scope === 'mfa_enrolment';
  session.scope = 'mfa_enrolment';
  if (known && location.hash === ENROLMENT_HASH) return; // the other calls of the same page
  clearTimeout(unread.timer);
  flashes.set('security', { kind: 'warning', text: 'strongSignIn.enrolmentRequired' });
  navigate(ENROLMENT_HASH, { replace: true });
});

// A sensitive action refused because the sign-in is too old: "Confirm it is you", then again.
api.onReauthRequired(() => confirmIdentity());

/** The badge's content: the number for the eye, "3 unread" for screen readers; empty at 0. */
function unreadBadgeContent(badge) {
  const n = unread.count;
  badge.hidden = !(n > 0);
  badge.replaceChildren(...(n > 0 ? [
    h('span', { 'aria-hidden': 'true' }, n > 99 ? '99+' : String(n)),
    h('span', { class: 'visually-hidden' }, ` ${t('notifications.unreadBadge', { count: n })}`),
  ] : []));
  badge.dataset.count = n > 0 ? String(n) : '0';
}

function drawUnread() {
  root.querySelectorAll('[data-unread-badge]').forEach(unreadBadgeContent);
}

function schedulePoll() {
  clearTimeout(unread.timer);
  unread.timer = null;
  if (!session.account || unread.stopped || session.scope || acting()) return;
  unread.timer = setTimeout(() => {
    unread.timer = null;
    if (document.visibilityState === 'visible') refreshUnread();
    // hidden: the visibilitychange handler asks when the customer comes back
  }, UNREAD_POLL_MS);
}

/** A page's answer carried the count: show it, and the next poll is a minute from now. */
function setUnread(count) {
  if (!Number.isInteger(count) || count < 0) return;
  const before = unread.count;
  unread.count = count;
  unread.at = Date.now();
  unread.stopped = false;
  drawUnread();
  schedulePoll();
  if (before !== count) window.dispatchEvent(new CustomEvent('portal:unread', { detail: { count, before } }));
}

/** Ask the server (one request at a time); failures keep the last known count. */
function refreshUnread({ ifOlderThan = 0 } = {}) {
  if (!session.account || unread.stopped || session.scope || acting()) return Promise.resolve();
  if (unread.pending) return unread.pending;
  if (ifOlderThan && Date.now() - unread.at < ifOlderThan) return Promise.resolve();
  const accountId = session.account.id;
  unread.pending = api.request('GET', '/api/v1/notifications?limit=1&unread=true', { redirectOn401: false })
    .then((page) => {
      if (session.account && session.account.id === accountId) setUnread(page && page.unread_count);
    }, (err) => {
      // Signed out meanwhile: stop asking until the next login. Otherwise try again later.
      if (err && err.status === 401) unread.stopped = true;
      else schedulePoll();
    })
    .finally(() => {
      unread.pending = null;
    });
  return unread.pending;
}

function forgetUnread() {
  clearTimeout(unread.timer);
  Object.assign(unread, { count: null, at: 0, pending: null, timer: null, stopped: false });
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && session.account && !unread.timer) {
    refreshUnread({ ifOlderThan: UNREAD_POLL_MS });
  }
});

/** Re-render in another language, keeping typed text (not passwords or card details) and focus. */
async function switchLanguage(lang) {
  const typed = [...root.querySelectorAll('input, select, textarea')]
    .filter((el) => el.id && el.type !== 'password' && !el.hasAttribute('data-sensitive'))
    .map((el) => [el.id, el.type === 'radio' || el.type === 'checkbox' ? el.checked : el.value]);
  const focusedId = document.activeElement && document.activeElement.id;
  const before = i18n.currentLanguage();
  await i18n.setLanguage(lang, { remember: true });
  await render();
  for (const [id, saved] of typed) {
    const el = document.getElementById(id);
    if (!el) continue;
    if (typeof saved === 'boolean') el.checked = saved;
    // a picker of the account's language (sign-up) follows the page's, unless changed by hand
    else if (el.hasAttribute('data-ui-language') && saved === before) el.value = i18n.currentLanguage();
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
  /** A page learnt the unread count from the server (dashboard, inbox, marking read). */
  setUnread,
  /** Memberships changed (joined, left): the switcher asks again at the next page. */
  forgetHouseholds() {
    session.households = null;
  },
  refreshShell() {
    if (!session.account) return;
    root.querySelectorAll('[data-account-name]').forEach((name) => {
      name.textContent = session.account.name;
    });
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
      brandMark(),
      languageSwitcher()),
    h('div', { class: 'public-layout' }, main),
  ];
}

/** Whether the logged-in account may open a route (its billing type, role, permissions). */
const ACTING_PAGES = ['subscriptions', 'settings'];

function allowed(route) {
  const account = session.account || {};
  const held = Array.isArray(account.permissions) ? account.permissions : [];
  const inHousehold = acting();
  if (inHousehold && !(ACTING_PAGES.includes(route.nav) || (route.nav === 'wallet' && inHousehold.share_wallet))) return false;
  const billingType = inHousehold ? inHousehold.billing_type : account.billing_type;
  return (!route.billing || route.billing === billingType)
    && !(isStaff() && customerPage(route))
    && (!route.roles || route.roles.includes(account.role))
    && (!route.permissions || route.permissions.some((p) => held.includes(p)));
}

function unreadBadge(testid) {
  const badge = h('span', { class: 'count-badge', 'data-unread-badge': '', 'data-testid': testid });
  unreadBadgeContent(badge);
  return badge;
}

function navigation(activeNav) {
  // staff: the desk first, then the other staff pages, then the inbox and settings
  const rank = (r) => (!isStaff() ? 0 : r.nav === 'opsSupport' ? 0 : r.roles || r.permissions ? 1 : 2);
  const items = ROUTES.filter((r) => r.nav && typeof r.path === 'string' && allowed(r))
    .sort((a, b) => rank(a) - rank(b));
  const list = h('ul', { id: 'nav-list', class: 'nav-list' },
    items.map((r) => h('li', { class: r.roles || r.permissions ? 'nav-ops' : null },
      h('a', {
        href: `#/${r.path}`,
        class: r.nav === 'notifications' ? 'has-badge' : null,
        'data-testid': `nav-${r.nav}`,
        'aria-current': r.nav === activeNav ? 'page' : null,
      }, icon(r.nav), h('span', { class: 'nav-label' }, t(`nav.${r.nav}`)),
      r.nav === 'notifications' ? unreadBadge('nav-unread') : null))),
    switcherSlot(),
    // On a phone the header has no room for the account's name and the Log out button: the
    // menu has them.
    h('li', { class: 'nav-account' },
      h('span', { class: 'nav-account-name', 'data-account-name': '' }, session.account.name),
      h('button', { type: 'button', class: 'nav-logout', 'data-testid': 'nav-logout', on: { click: logout } },
        icon('logout'), h('span', { class: 'nav-label' }, t('header.logout')))));
  // On a phone the links are behind the menu button: it shows the count too.
  const toggle = h('button', {
    type: 'button',
    class: 'nav-toggle',
    'data-testid': 'nav-toggle',
    'aria-expanded': 'false',
    'aria-controls': 'nav-list',
  }, icon('menu'), h('span', { class: 'nav-label' }, t('nav.menu')), unreadBadge('nav-toggle-unread'));
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

// The phone's bottom tab bar: the customer's five everyday places, each an icon and a short
// label (the others are in the menu). Staff have their own navigation (the menu) only.
const TABS = ['dashboard', 'subscriptions', 'wallet', 'bills', 'support', 'notifications'];

function tabBar(activeNav) {
  if (isStaff()) return null;
  const items = TABS.map((nav) => ROUTES.find((r) => r.nav === nav && typeof r.path === 'string'))
    .filter((r) => r && allowed(r));
  return h('nav', { class: 'tab-bar', 'data-testid': 'tab-bar', 'aria-label': t('nav.tabsLabel') },
    h('ul', {}, items.map((r) => h('li', {},
      h('a', {
        href: `#/${r.path}`,
        'data-testid': `tab-${r.nav}`,
        'aria-current': r.nav === activeNav ? 'page' : null,
      },
      h('span', { class: 'tab-icon' }, icon(r.nav), r.nav === 'notifications' ? unreadBadge('tab-unread') : null),
      h('span', { class: 'tab-label' }, t(`nav.short.${r.nav}`)))))));
}

async function switchAccount(accountId, problem) {
  try {
    session.households = null;
    await actAs(ctx, accountId);
  } catch (err) {
    if (err && err.handled) return;
    if (problem) problem.replaceChildren(h('p', {}, errorText(err)));
  }
}

// The households the person belongs to, asked once a session (and again after joining, leaving
// or switching) beside the page's own requests, never before them: the switcher appears in the
// menu when they arrive.
let householdsPending = null;

function loadHouseholds() {
  if (!session.account || isStaff() || session.scope || session.households !== null || householdsPending) return;
  const accountId = session.account.id;
  householdsPending = api.get('/api/v1/me/households', { redirectOn401: false })
    .then((answer) => (Array.isArray(answer && answer.data) ? answer.data : []), () => [])
    .then((list) => {
      householdsPending = null;
      if (!session.account || session.account.id !== accountId) return;
      session.households = list;
      root.querySelectorAll('[data-switcher-slot]').forEach(fillSwitcher);
    });
}

function fillSwitcher(slot) {
  const switcher = accountSwitcher();
  slot.hidden = !switcher;
  slot.replaceChildren(...(switcher ? [switcher] : []));
}

function switcherSlot() {
  const slot = h('li', { class: 'nav-switcher', 'data-switcher-slot': '' });
  fillSwitcher(slot);
  return slot;
}

/** "My account" / "<holder>'s household" in the menu, for a person who belongs to a household. */
function accountSwitcher() {
  const households = session.households || [];
  if (!households.length) return null;
  const current = acting() ? acting().account_id : '';
  const id = 'account-switcher-choice';
  const select = h('select', { id, name: 'account', 'data-testid': 'account-switcher-choice' },
    h('option', { value: '', selected: !current }, t('household.myAccount')),
    households.map((m) => h('option', { value: m.account_id, selected: m.account_id === current }, t('household.holdersHousehold', { holder: m.holder_name }))));
  select.value = current;
  const problem = h('div', { class: 'action-error', role: 'alert' });
  const form = h('form', { class: 'account-switcher', 'data-testid': 'account-switcher', novalidate: true },
    h('label', { for: id }, t('household.switcherLabel')),
    select,
    h('button', { type: 'submit', class: 'button secondary small', 'data-testid': 'account-switcher-submit' }, t('household.switch')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (select.value === current) return;
    switchAccount(select.value || null, problem);
  });
  return h('div', {}, form, problem);
}

/** While acting in a household: which one, and the way back. */
function actingBanner() {
  const inHousehold = acting();
  if (!inHousehold) return null;
  const problem = h('div', { class: 'action-error', role: 'alert' });
  return h('div', { class: 'notice warning acting-banner', role: 'region', 'aria-label': t('household.bannerLabel'), 'data-testid': 'acting-banner' },
    h('p', {}, t('household.actingIn', { holder: inHousehold.holder_name })),
    h('button', { type: 'button', class: 'button secondary small', 'data-testid': 'acting-back', on: { click: () => switchAccount(null, problem) } }, t('household.backToMine')),
    problem);
}

function accountShell(main, activeNav) {
  const bar = tabBar(activeNav);
  const banner = actingBanner();
  main.actingBanner = banner; // kept above whatever the page shows (render)
  if (banner) main.prepend(banner);
  return [
    skipLink(),
    h('header', { class: 'app-header' },
      brandMark(),
      h('div', { class: 'account-box' },
        h('span', { class: 'visually-hidden' }, t('header.account')),
        h('span', { class: 'account-name', 'data-testid': 'account-name', 'data-account-name': '' }, session.account.name),
        h('button', { type: 'button', class: 'button secondary', 'data-testid': 'logout', on: { click: logout } }, t('header.logout')))),
    h('div', { class: bar ? 'app-layout has-tab-bar' : 'app-layout' }, navigation(activeNav), main),
    bar,
  ].filter(Boolean);
}

/** What a page shows while it loads: grey blocks for the eye, "Loading…" for screen readers. */
function skeleton() {
  return h('div', { class: 'skeleton', 'data-testid': 'page-skeleton', role: 'status' },
    h('span', { class: 'visually-hidden' }, t('app.loading')),
    h('div', { class: 'skeleton-block skeleton-title', 'aria-hidden': 'true' }),
    h('div', { class: 'skeleton-block skeleton-card', 'aria-hidden': 'true' }),
    h('div', { class: 'skeleton-block skeleton-line', 'aria-hidden': 'true' }),
    h('div', { class: 'skeleton-block skeleton-line short', 'aria-hidden': 'true' }),
    h('div', { class: 'skeleton-block skeleton-card', 'aria-hidden': 'true' }));
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
    navigate(home(), { replace: true });
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
  } else if (route.optionalSession && !session.account) {
    try {
      await setAccount(await api.get('/api/v1/me', { redirectOn401: false }));
    } catch {
      // not signed in: the page says what to do
    }
    if (!isCurrent()) return;
  } else if (session.account && (route.page === login || route.page === signup)) {
    navigate(home(), { replace: true });
    return;
  }
  if (session.scope === 'mfa_enrolment' && !(route && (route.public || route.page === settings))) {
    navigate(ENROLMENT_HASH, { replace: true });
    return;
  }
  if (isStaff() && customerPage(route)) {
    navigate(STAFF_HOME, { replace: true });
    return;
  }

  loadHouseholds();
  // a member in a household lands on Subscriptions instead of a page that is not theirs there
  if (acting() && route && !route.public && !allowed(route)) {
    navigate(ACTING_HOME, { replace: true });
    return;
  }

  const available = route && (route.public || allowed(route));
  const page = available ? route.page : notFound;
  const main = h('main', { id: 'main', tabindex: '-1', 'aria-busy': 'true' }, skeleton());
  const framed = route && route.public && !(route.optionalSession && session.account);
  root.replaceChildren(...(framed ? publicShell(main) : accountShell(main, available ? route.nav : null)));

  const unreadBefore = unread.at;
  let content;
  try {
    content = await page.render({ ...ctx, params: matched ? matched.params : [], nav: route && route.nav, isCurrent });
  } catch (err) {
    if (err && err.handled) return;
    if (!(err && err.code)) console.error(err); // a bug, not an API answer
    content = errorPanel(err);
  }
  if (!isCurrent()) return;
  main.replaceChildren(...[main.actingBanner, content].filter(Boolean));
  main.removeAttribute('aria-busy');
  const heading = main.querySelector('h1');
  document.title = heading ? `${heading.textContent} – ${brandName()}` : brandName();
  if (!firstRender && heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
  firstRender = false;
  // A page that did not report the unread count (most do not): ask, unless it is fresh.
  if (session.account && !(route && route.public) && unread.at === unreadBefore) {
    refreshUnread({ ifOlderThan: UNREAD_FRESH_MS });
  }
}

window.addEventListener('hashchange', () => render());
Promise.all([i18n.setLanguage(i18n.initialLanguage()), loadBranding()]).then(render, (err) => {
  console.error(err);
  root.textContent = 'The portal could not be loaded. / Das Portal konnte nicht geladen werden.';
});
