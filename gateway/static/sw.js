// The portal's service worker: the app shell, so that the portal opens without a network.
// scripts/build_assets.mjs fills in VERSION, SHELL and IF_CACHED below (gateway/static/sw.js →
// gateway/static/dist/sw.js); offline.js registers it, only for a built front end.
//
// It caches public files only, in "portal-shell-<VERSION>": the page ("/") and the files under
// /static/ whose names carry a content hash (scripts, styles, translations, icons). It never
// sees an API answer: requests to /api/ and everything else pass to the network untouched, as
// if there were no worker. The last dashboard shown offline is kept by the page (offline.js,
// in the cache "portal-dashboard" that logging out deletes), not here.

const VERSION = 'dev';
// the page and the files it needs before anything shows (fetched on install; the page has just
// loaded them, so they come from the browser's HTTP cache)
const SHELL = [];
// translations, icons and the web app manifest: taken on install only if the browser has them
// already (never an extra download; the others are kept when the page first asks for them)
const IF_CACHED = [];
const CACHE = `portal-shell-${VERSION}`;
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/; // a content hash in the name: the file never changes

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await Promise.all(IF_CACHED.map(async (url) => {
      try {
        const response = await fetch(url, { cache: 'only-if-cached', mode: 'same-origin' });
        if (response.ok) await cache.put(url, response);
      } catch {
        // not in the browser's cache: kept when the page asks for it
      }
    }));
    await self.skipWaiting(); // the next page load uses this version
  })());
});

// Older versions' caches go. No clients.claim(): a page that is open keeps the files it was
// loaded with and what it fetches goes on to the network; the worker serves the next load.
self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('portal-shell-') && name !== CACHE) await caches.delete(name);
    }
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === '/') {
    event.respondWith(thePage(request));
  } else if (url.pathname.startsWith('/static/') && HASHED.test(url.pathname)) {
    event.respondWith(hashedFile(request));
  }
  // anything else (the API, downloads, unhashed files): not answered here
});

/** The page: from the network (a new version shows at once), the last copy when offline. */
async function thePage(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put('/', response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match('/');
    if (kept) return kept;
    throw err;
  }
}

/** A hashed file: from the cache, else from the network (and kept: it never changes). */
async function hashedFile(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}
