// A generated line (a charge, an invoice line, a wallet entry) in the customer's language: the
// server sends `text` = {code, params} beside its English `description`; the portal words it
// with `lines.<code>`, dates and the tax rate in the customer's locale. Lines recorded before
// texts existed (text null) and codes this portal does not know show the description.
import { t, has } from './i18n.js';
import { date, locale } from './format.js';

const DATES = new Set(['start', 'end']);

function capitalised(word) {
  return word.replace(/_/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
}

function formatted(raw) {
  const out = {};
  for (const [name, value] of Object.entries(raw || {})) out[name] = String(value);
  for (const name of DATES) if (out[name]) out[name] = date(out[name]);
  if (out.rate && !Number.isNaN(Number(out.rate))) {
    out.rate = new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(Number(out.rate));
  }
  if (out.brand) {
    const key = `cards.brand.${out.brand.toLowerCase()}`;
    out.brand = has(key) ? t(key) : capitalised(out.brand);
  }
  return out;
}

export function lineText(line) {
  const text = line && line.text;
  const fallback = (line && line.description) || '';
  if (!text || typeof text.code !== 'string' || !has(`lines.${text.code}`)) return fallback;
  const values = formatted(text.params);
  const first = text.params && text.params.first;
  if (first) {
    if (!has(`lines.${first}`)) return fallback;
    values.first = t(`lines.${first}`, values);
  }
  return t(`lines.${text.code}`, values);
}
