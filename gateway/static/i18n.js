// Translations: every visible string comes from i18n/<lang>.json.
// Language order: the account's language, else an explicit choice made on the
// login/sign-up pages, else the browser's, else English.

// Each has gateway/static/i18n/<lang>.json (tests/unit/test_translations.py checks both ways) and
// is a customer's language on the server (SUPPORTED_LANGUAGES in services/common/schemas.py).
export const LANGUAGES = ['en', 'de', 'it', 'th'];
const STORAGE_KEY = 'portal.language';
const dictionaries = {};
let current = 'en';

export function normaliseLanguage(value) {
  const base = String(value || '').toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.includes(base) ? base : null;
}

export function initialLanguage() {
  let stored = null;
  try {
    stored = normaliseLanguage(localStorage.getItem(STORAGE_KEY));
  } catch {
    // storage unavailable (private mode); ignore
  }
  if (stored) return stored;
  for (const lang of navigator.languages || [navigator.language]) {
    const found = normaliseLanguage(lang);
    if (found) return found;
  }
  return 'en';
}

async function load(lang) {
  if (!dictionaries[lang]) {
    const res = await fetch(new URL(`./i18n/${lang}.json`, import.meta.url), { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`cannot load translations for ${lang}`);
    dictionaries[lang] = await res.json();
  }
  return dictionaries[lang];
}

export function currentLanguage() {
  return current;
}

export async function setLanguage(lang, { remember = false } = {}) {
  const next = normaliseLanguage(lang) || 'en';
  await load('en'); // fallback for keys missing in another language
  await load(next);
  current = next;
  document.documentElement.lang = next;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // ignore
    }
  }
  return next;
}

function lookup(dict, key) {
  let node = dict;
  for (const part of key.split('.')) {
    if (node == null || typeof node !== 'object') return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

export function has(key) {
  return lookup(dictionaries[current], key) !== undefined || lookup(dictionaries.en, key) !== undefined;
}

export function t(key, params = {}) {
  const text = lookup(dictionaries[current], key) ?? lookup(dictionaries.en, key) ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}
