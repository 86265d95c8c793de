// The operator's face: name, logo and colours come from the gateway's configuration
// (BRAND_* in deploy/config.yaml, served by GET /api/v1/branding), not from the code. The
// colours are set as CSS custom properties through the CSSOM (allowed by the page's
// `style-src 'self'`); the last answer is remembered, so the next load starts in the brand's
// colours at once and an offline load keeps them.
import { h } from './dom.js';
import { t } from './i18n.js';

const STORAGE_KEY = 'portal.branding';
const COLOURS = { primary_color: '--primary', primary_dark_color: '--primary-dark', accent_color: '--accent' };
const HEX = /^#[0-9a-f]{6}$/i;
let brand = {};

function apply(value) {
  if (!value || typeof value !== 'object') return;
  brand = value;
  const style = document.documentElement.style;
  for (const [key, property] of Object.entries(COLOURS)) {
    if (HEX.test(value[key] || '')) style.setProperty(property, value[key]);
  }
  const theme = document.querySelector('meta[name="theme-color"]');
  if (theme && HEX.test(value.primary_dark_color || '')) theme.setAttribute('content', value.primary_dark_color);
}

try {
  apply(JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null'));
} catch {
  // storage unavailable or spoilt: the defaults until the answer comes
}

// Asked at once, beside the translations, so it costs no round trip of its own.
const answer = fetch('/api/v1/branding', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
  .then((res) => (res.ok ? res.json() : null))
  .catch(() => null);

/** Wait for the operator's branding (or give up quietly: the defaults stay). */
export async function loadBranding() {
  const value = await answer;
  if (value) {
    apply(value);
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    } catch {
      // ignore
    }
  }
  return brand;
}

/** The name the customer sees: the operator's, or "Customer Portal" in the page's language. */
export function brandName() {
  return brand.name || t('app.name');
}

/** The header's brand: the logo (decoration beside the name) and the name. */
export function brandMark() {
  return h('p', { class: 'brand', 'data-testid': 'brand' },
    brand.logo_url ? h('img', { class: 'brand-logo', src: brand.logo_url, alt: '', width: '32', height: '32', 'data-testid': 'brand-logo' }) : null,
    h('span', { class: 'brand-name', 'data-testid': 'brand-name' }, brandName()));
}
