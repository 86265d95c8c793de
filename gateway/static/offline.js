// Offline: the installed app opens without a network and shows the last dashboard, marked as
// such. Two parts:
//  - the service worker (sw.js) keeps the app shell (page, scripts, styles, translations);
//    registered here once the page has loaded, only for a built front end (index.html written by
//    scripts/build_assets.mjs carries <meta name="portal-build">);
//  - this module keeps the last dashboard answer. It wraps window.fetch for the API's answers
//    the page receives, and acts on these only:
//      GET /api/v1/dashboard  a successful answer is kept (Cache Storage "portal-dashboard", one
//                             entry, with the time it arrived); when the network fails, the kept
//                             answer is given instead and a banner says "You are offline" and as
//                             of when the figures are;
//      GET /api/v1/me         only when the network fails: answered with the kept dashboard's
//                             account part (id, name, billing type, currency, language), so the
//                             app can open the dashboard; other pages show their network error;
//      logging in or out, and any 401 answer, delete the kept dashboard.
//    No other answer is kept anywhere. The API traffic stays the page's own (it does not pass
//    through the service worker), so the browser's tools, and tests that intercept the page's
//    requests, see it as before. Without Cache Storage (a page not on https or localhost) there
//    is simply no offline dashboard.
import { t } from './i18n.js';
import { dateTime } from './format.js';

const STORE = 'portal-dashboard';
const DASHBOARD = '/api/v1/dashboard';
const ME = '/api/v1/me';
const FORGET_ON = ['/api/v1/auth/login', '/api/v1/auth/logout'];
const SAVED_AT = 'X-Portal-Saved-At';
const BANNER_ID = 'offline-banner';
const storage = typeof caches === 'undefined' ? null : caches;
const networkFetch = window.fetch.bind(window);

function forget() {
  if (storage) storage.delete(STORE).catch(() => {});
}

async function keep(response) {
  const body = await response.arrayBuffer();
  const cache = await storage.open(STORE);
  await cache.put(DASHBOARD, new Response(body, {
    headers: { 'Content-Type': 'application/json', [SAVED_AT]: new Date().toISOString() },
  }));
}

async function kept() {
  if (!storage) return null;
  return (await storage.match(DASHBOARD, { cacheName: STORE })) || null;
}

function hideBanner() {
  const banner = document.getElementById(BANNER_ID);
  if (banner) banner.remove();
}

function showBanner(savedAt) {
  hideBanner();
  const text = document.createElement('p');
  text.className = 'notice warning';
  text.setAttribute('role', 'status');
  text.textContent = t('offline.banner', { time: dateTime(savedAt) });
  const banner = document.createElement('aside');
  banner.id = BANNER_ID;
  banner.dataset.testid = 'offline-banner';
  banner.setAttribute('aria-label', t('offline.label'));
  banner.append(text);
  document.body.insertBefore(banner, document.getElementById('app'));
}

// The banner speaks of the dashboard: another page hides it (back on the dashboard, offline,
// it shows again).
window.addEventListener('hashchange', hideBanner);

window.fetch = async function fetchKeepingTheDashboard(input, init) {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/api/')) return networkFetch(input, init);
  const method = String((init && init.method) || (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const get = method === 'GET' && !url.search;
  if (method === 'POST' && FORGET_ON.includes(url.pathname)) forget();
  let response;
  try {
    response = await networkFetch(input, init);
  } catch (err) {
    // No network: the kept dashboard (and the account in it), if there is one.
    const saved = get && (url.pathname === DASHBOARD || url.pathname === ME) ? await kept() : null;
    if (!saved) throw err;
    if (url.pathname === DASHBOARD) {
      showBanner(saved.headers.get(SAVED_AT));
      return saved;
    }
    const { account } = await saved.json();
    if (!account) throw err;
    return new Response(JSON.stringify(account), { headers: { 'Content-Type': 'application/json' } });
  }
  if (response.status === 401) {
    forget();
  } else if (get && url.pathname === DASHBOARD && response.ok) {
    hideBanner();
    if (storage) keep(response.clone()).catch(() => {});
  }
  return response;
};

if ('serviceWorker' in navigator && document.querySelector('meta[name="portal-build"]')) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/static/sw.js', { scope: '/' }).catch((err) => {
      console.warn('The service worker could not be registered; the portal works without it.', err);
    });
  });
}
