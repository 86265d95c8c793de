// Money and dates in the UI language. Amounts arrive as integers in the currency's minor unit
// ({"amount": 1499, "currency": "EUR"} is 14.99 EUR); dates as ISO 8601 in UTC.
import { currentLanguage } from './i18n.js';

// Day-month-year order for English too ("21 Dec 2026"), as the operator's customers expect.
// Thai: Thai month names and digits as Thai portals write them, but Gregorian years
// ("21 ธ.ค. 2026", not the Buddhist era's 2569 that Intl picks for 'th' by default): the e-mails
// and PDFs the server writes (Babel) count years that way, and so do the card expiry on the card
// and the date inputs, so the customer never sees one date with two different years.
const LOCALES = { en: 'en-GB', de: 'de-DE', it: 'it-IT', th: 'th-TH-u-ca-gregory' };

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

/**
 * What a customer typed as an amount in major units ("20", "20.00", "20,5", "1 000.00")
 * → integer minor units (2000, 2050, 100000), exactly: the text is read digit by digit, never
 * through a float. Returns {amount} or {error: 'format'|'decimals'}.
 * The last "." or "," is the decimal mark; others before it group thousands.
 */
export function parseAmount(text, currency) {
  const digits = fractionDigits(currency);
  const raw = String(text ?? '').replace(/[\s\u00a0\u202f']/g, '');
  if (!/^\d[\d.,]*$/.test(raw) && !/^[.,]\d+$/.test(raw)) return { error: 'format' };
  const mark = Math.max(raw.lastIndexOf('.'), raw.lastIndexOf(','));
  let whole = raw;
  let fraction = '';
  if (mark >= 0) {
    whole = raw.slice(0, mark);
    fraction = raw.slice(mark + 1);
    // A single mark followed by exactly three digits with more than the currency's decimals
    // ("1.000", "1,000") could mean a thousand or one: refuse rather than guess.
    if (fraction.length > digits) return { error: fraction.length === 3 && !/[.,]/.test(whole) ? 'format' : 'decimals' };
    if (!/^\d*$/.test(fraction)) return { error: 'format' };
    // Grouping marks in the whole part: every group after the first has three digits.
    if (/[.,]/.test(whole) && !/^\d{1,3}([.,]\d{3})*$/.test(whole)) return { error: 'format' };
    whole = whole.replace(/[.,]/g, '');
  }
  if (!whole) whole = '0';
  if (!/^\d+$/.test(whole) || whole.length > 12) return { error: 'format' };
  const minor = whole.replace(/^0+(?=\d)/, '') + fraction.padEnd(digits, '0');
  return { amount: Number(minor) };
}

/** The UI language's decimal mark: "," in German and Italian, "." in English and Thai. */
export function decimalMark() {
  const part = new Intl.NumberFormat(locale()).formatToParts(1.5).find((p) => p.type === 'decimal');
  return part ? part.value : '.';
}

/** Integer minor units → the text for an amount input, in the UI's decimal mark ("5.00" / "5,00"). */
export function amountInput(value) {
  if (!isMoney(value)) return '';
  const digits = fractionDigits(value.currency);
  const abs = String(Math.abs(value.amount)).padStart(digits + 1, '0');
  const whole = abs.slice(0, abs.length - digits);
  const fraction = abs.slice(abs.length - digits);
  const mark = decimalMark();
  return `${value.amount < 0 ? '-' : ''}${whole}${digits ? mark + fraction : ''}`;
}

/** "21 Nov 2026, 10:00" / "21. Nov. 2026, 10:00": a moment, in the browser's time zone. */
export function dateTime(value) {
  const parsed = parseDate(value);
  if (!parsed) return value ? String(value) : '';
  return new Intl.DateTimeFormat(locale(), {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(parsed);
}
