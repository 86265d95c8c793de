// Passkeys (WebAuthn) in the browser: the server's options arrive as JSON (binary values
// base64url) and the browser's answer goes back as JSON. Current browsers convert both ways
// themselves (PublicKeyCredential.parse*OptionsFromJSON, credential.toJSON()); older ones get
// the same conversion done here.
import { t } from './i18n.js';
import { errorText } from './dom.js';

/** Whether this browser can use passkeys at all (the buttons are hidden otherwise). */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential !== 'undefined' && Boolean(navigator.credentials);
}

function fromBase64url(text) {
  const base64 = String(text).replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

function creationOptions(options) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(options);
  }
  return {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: withIds(options.excludeCredentials),
  };
}

function requestOptions(options) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(options);
  }
  return { ...options, challenge: fromBase64url(options.challenge), allowCredentials: withIds(options.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const r = credential.response;
  const out = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || null,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toBase64url(r.clientDataJSON) },
  };
  if (r.attestationObject) {
    out.response.attestationObject = toBase64url(r.attestationObject);
    out.response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    out.response.authenticatorData = toBase64url(r.authenticatorData);
    out.response.signature = toBase64url(r.signature);
    out.response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  }
  return out;
}

/**
 * The browser's own error when the person cancelled or no passkey answered (NotAllowedError,
 * AbortError): the caller says "nothing happened", not "something broke".
 */
export class PasskeyCancelled extends Error {
  constructor() {
    super('passkey cancelled');
    this.code = 'PASSKEY_CANCELLED';
    this.handled = false;
  }
}

async function ask(run) {
  try {
    const credential = await run();
    if (!credential) throw new PasskeyCancelled();
    return credentialJSON(credential);
  } catch (err) {
    if (err instanceof PasskeyCancelled) throw err;
    if (err && (err.name === 'NotAllowedError' || err.name === 'AbortError' || err.name === 'InvalidStateError')) {
      throw new PasskeyCancelled();
    }
    throw err;
  }
}

/** navigator.credentials.get for the server's request options: the credential as JSON. */
export function getPasskey(options) {
  return ask(() => navigator.credentials.get({ publicKey: requestOptions(options) }));
}

/** navigator.credentials.create for the server's creation options: the credential as JSON. */
export function createPasskey(options) {
  return ask(() => navigator.credentials.create({ publicKey: creationOptions(options) }));
}

/** What to tell the person when a passkey ceremony did not work. */
export function passkeyErrorText(err) {
  return err && err.code === 'PASSKEY_CANCELLED' ? t('passkeys.cancelled') : errorText(err);
}
