// Fetch wrapper for the portal API: JSON in and out, the session cookie,
// the CSRF header on writes, and one error shape for every failure.

const CSRF_COOKIE = 'portal_csrf';
let csrfFromLogin = null; // fallback only; kept in memory, never in storage
let unauthorizedHandler = null;
let reauthHandler = null;
let enrolmentHandler = null;

export class ApiError extends Error {
  constructor({ status, code, message, fields, retryAfter, declineCode, params }) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.serverMessage = message || '';
    this.fields = fields || {};
    this.retryAfter = retryAfter;
    this.declineCode = declineCode || null; // a declined payment (402): why, e.g. insufficient_funds
    this.params = params || {}; // the names, dates and numbers the server's message is made of
    this.handled = false; // true once the app redirected to the login page
  }
}

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/**
 * handler(err) → Promise<boolean>: asked when a sensitive action answers 403 REAUTH_REQUIRED
 * (the sign-in is too old); it confirms who it is (reauth.js's dialog) and says whether the
 * action may be tried again, which `request` then does once. Every sensitive action gets it.
 */
export function onReauthRequired(handler) {
  reauthHandler = handler;
}

/** handler(err): a session limited to setting up two-step sign-in asked for anything else. */
export function onEnrolmentRequired(handler) {
  enrolmentHandler = handler;
}

export function rememberCsrf(token) {
  csrfFromLogin = token || null;
}

export function forgetCsrf() {
  csrfFromLogin = null;
}

function readCookie(name) {
  for (const part of document.cookie ? document.cookie.split(';') : []) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return rest.join('=');
      }
    }
  }
  return null;
}

function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

// Field errors arrive as {"address.city": [...]} or {"address": {"city": [...]}};
// both become {"address.city": ["..."]}.
export function flattenFields(fields, prefix = '', out = {}) {
  if (!fields || typeof fields !== 'object') return out;
  for (const [name, value] of Object.entries(fields)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (Array.isArray(value)) {
      const texts = value
        .map((item) => (typeof item === 'string' ? item : item && (item.message || item.msg)))
        .filter(Boolean);
      const nested = value.filter((item) => item && typeof item === 'object' && !item.message && !item.msg);
      if (texts.length) out[key] = (out[key] || []).concat(texts);
      nested.forEach((item) => flattenFields(item, key, out));
    } else if (typeof value === 'string') {
      out[key] = (out[key] || []).concat(value);
    } else if (value && typeof value === 'object') {
      flattenFields(value, key, out);
    }
  }
  return out;
}

const DEFAULT_CODES = {
  400: 'VALIDATION_FAILED',
  401: 'NOT_AUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * request('POST', '/api/v1/auth/login', {body: {...}})
 * options.redirectOn401 (default true): on 401 the app is sent to #/login,
 * except for INVALID_CREDENTIALS (a wrong password is a form error, not a lost session).
 * options.idempotencyKey: sent as Idempotency-Key, so a retried write has one effect.
 * options.reauth (default true): on 403 REAUTH_REQUIRED ask the person to confirm it is them
 * (onReauthRequired) and send the request once more.
 */
export async function request(method, path, options = {}) {
  try {
    return await send(method, path, options);
  } catch (err) {
    if (!(err.status === 403 && err.code === 'REAUTH_REQUIRED' && reauthHandler && options.reauth !== false)) throw err;
    // once: a second REAUTH_REQUIRED (it should not happen) is shown as the error it is
    if (!(await reauthHandler(err))) {
      err.handled = true; // the person closed the dialog: nothing to show
      throw err;
    }
    return send(method, path, options);
  }
}

async function send(method, path, { body, redirectOn401 = true, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = readCookie(CSRF_COOKIE) || csrfFromLogin;
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }

  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ status: 0, code: 'NETWORK' });
  }

  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;

  const error = (data && typeof data.error === 'object' && data.error) || {};
  const err = new ApiError({
    status: res.status,
    code: error.code || DEFAULT_CODES[res.status] || (res.status >= 500 ? 'UNKNOWN' : 'ERROR'),
    message: typeof error.message === 'string' ? error.message : '',
    fields: flattenFields(error.fields),
    retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
    declineCode: typeof error.decline_code === 'string' ? error.decline_code : null,
    params: error.params && typeof error.params === 'object' ? error.params : {},
  });
  if (res.status === 401 && redirectOn401 && err.code !== 'INVALID_CREDENTIALS' && unauthorizedHandler) {
    err.handled = true;
    unauthorizedHandler(err);
  }
  if (res.status === 403 && err.code === 'MFA_ENROLMENT_REQUIRED' && enrolmentHandler) {
    err.handled = true;
    enrolmentHandler(err);
  }
  throw err;
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options) => request('POST', path, { ...options, body });
export const patch = (path, body, options) => request('PATCH', path, { ...options, body });
export const put = (path, body, options) => request('PUT', path, { ...options, body });
export const del = (path, options) => request('DELETE', path, options);

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; fall back to getRandomValues). */
export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A sender for one form's writes that keeps its Idempotency-Key while the outcome is unknown:
 * resubmitting the same request after a network error, a timeout (503) or a 5xx reuses the
 * key, so the server replays the first answer instead of acting twice. Any other answer, or a
 * different request, starts a new key.
 */
export function idempotentSender() {
  let key = null;
  let signature = null;
  return async function send(method, path, body) {
    const next = `${method} ${path} ${JSON.stringify(body === undefined ? null : body)}`;
    if (!key || next !== signature) {
      key = newIdempotencyKey();
      signature = next;
    }
    try {
      const result = await request(method, path, { body, idempotencyKey: key });
      key = null;
      return result;
    } catch (err) {
      const unknownOutcome = err && (err.status === 0 || err.status >= 500);
      if (!unknownOutcome) key = null;
      throw err;
    }
  };
}
