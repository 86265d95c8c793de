// Money and dates in the UI language. Amounts arrive as integers in the currency's minor unit
// ({"amount": 1499, "currency": "EUR"} is 14.99 EUR); dates as ISO 8601 in UTC.
import { currentLanguage } from './i18n.js';

// Day-month-year order for English too ("21 Dec 2026"), as the operator's customers expect.
const LOCALES = { en: 'en-GB', de: 'de-DE' };

export function locale() {
  const lang = currentLanguage();
  return LOCALES[lang] || lang;
}

const digitsCache = new Map();

/** How many minor-unit digits a currency has (EUR 2, JPY 0, KWD 3). */
export function fractionDigits(currency) {
  if (!digitsCache.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      // an unknown code: keep two digits
    }
    digitsCache.set(currency, digits);
  }
  return digitsCache.get(currency);
}

export function isMoney(value) {
  return Boolean(value && Number.isInteger(value.amount) && typeof value.currency === 'string');
}

/** {"amount": 1499, "currency": "EUR"} → "€14.99" / "14,99 €". */
export function money(value, { negate = false } = {}) {
  if (!isMoney(value)) return '';
  const digits = fractionDigits(value.currency);
  const amount = (negate ? -value.amount : value.amount) / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale(), {
      style: 'currency',
      currency: value.currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${value.currency}`;
  }
}

/** A Date from "YYYY-MM-DD" (that day in UTC) or a full ISO time; null when unreadable. */
export function parseDate(value) {
  if (!value) return null;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = day ? new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * "21 Dec 2026" / "21. Dez. 2026". Shown in UTC, the time zone the service computes periods
 * in, so a date here is the same day as in the price lines the server writes.
 */
export function date(value) {
  const parsed = parseDate(value);
  if (!parsed) return value ? String(value) : '';
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(parsed);
}

/** "YYYY-MM-DD" of today (UTC, as the service counts days) plus `days`, for <input type=date>. */
export function inputDate(days = 0) {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days)).toISOString().slice(0, 10);
}
