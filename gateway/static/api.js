// Fetch wrapper for the portal API: JSON in and out, the session cookie,
// the CSRF header on writes, and one error shape for every failure.

const CSRF_COOKIE = 'portal_csrf';
let csrfFromLogin = null; // fallback only; kept in memory, never in storage
let unauthorizedHandler = null;

export class ApiError extends Error {
  constructor({ status, code, message, fields, retryAfter }) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.serverMessage = message || '';
    this.fields = fields || {};
    this.retryAfter = retryAfter;
    this.handled = false; // true once the app redirected to the login page
  }
}

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
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
 */
export async function request(method, path, { body, redirectOn401 = true } = {}) {
  const headers = { Accept: 'application/json' };
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
  });
  if (res.status === 401 && redirectOn401 && err.code !== 'INVALID_CREDENTIALS' && unauthorizedHandler) {
    err.handled = true;
    unauthorizedHandler(err);
  }
  throw err;
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options) => request('POST', path, { ...options, body });
export const patch = (path, body, options) => request('PATCH', path, { ...options, body });
