"""Accounts and sessions: sign-up, login, logout, the customer's own profile and password."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common import permissions
from services.common.contract.accounts import NewPassword
from services.common.schemas import AddressSchema, StrictSchema

Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class Account(Schema):
    id = fields.String(metadata={"example": "cus_3k4j5h6g7f8d9s0a1q2w3e4r"})
    email = fields.String()
    email_verified = fields.Boolean()
    pending_email = fields.String(allow_none=True, metadata={
        "description": "after an address change: the new one, used once verified"})
    name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = fields.String()
    billing_type = fields.String(metadata={"enum": ["prepaid", "postpaid"]})
    currency = fields.String(metadata={"example": "EUR"})
    tax_region = fields.String(allow_none=True)
    role = fields.String(metadata={"enum": ["customer", *permissions.STAFF_ROLES]})
    teams = fields.List(fields.String())
    permissions = fields.Method("_permissions", metadata={
        "type": "array", "items": {"type": "string"},
        "description": "what the role allows (staff; empty for customers)"})
    created_at = fields.String(metadata={"format": "date-time"})
    acting = fields.Dict(allow_none=True, metadata={
        "description": "GET /me: the household account this session acts on (null: my own): "
                       "{account_id, holder_name, share_wallet, monthly_limit, currency}",
        "example": None})

    def _permissions(self, account) -> list[str]:
        return permissions.permissions_of(account.get("role"))


class Login(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = Password


class Session(Schema):
    token = fields.String()
    csrf_token = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})
    scope = fields.String(allow_none=True, metadata={
        "enum": ["mfa_enrolment", None], "description": (
            "null: the account's rights; mfa_enrolment: staff must set up two-step sign-in "
            "first (STAFF_MFA_REQUIRED)")})
    account = fields.Nested(Account)


class SessionDevice(Schema):
    browser = fields.String(allow_none=True, metadata={"example": "Chrome 156"})
    os = fields.String(allow_none=True, metadata={"example": "Linux"})


class ActiveSession(Schema):
    """One of the customer's sign-ins: the device it came from (read from its User-Agent),
    where and when; `current` is the one making this request."""

    id = fields.String(metadata={"example": "ses_3k4j5h6g7f8d9s0a1q2w3e4r"})
    current = fields.Boolean()
    method = fields.String(metadata={"enum": ["password", "portal_link", "passkey"]})
    created_at = fields.String(metadata={"format": "date-time"})
    last_seen_at = fields.String(metadata={"format": "date-time",
                                           "description": "to the minute"})
    expires_at = fields.String(metadata={"format": "date-time"})
    client_ip = fields.String(allow_none=True, metadata={"example": "203.0.113.7"})
    device = fields.Nested(SessionDevice)


class ActiveSessionList(Schema):
    data = fields.List(fields.Nested(ActiveSession), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class SignedOut(Schema):
    revoked = fields.Integer(metadata={"description": "how many sessions were ended"})


class PasswordChange(StrictSchema):
    current_password = Password
    new_password = NewPassword


# strong sign-in ---------------------------------------------------------------------------------

Code = fields.String(validate=validate.Length(min=1, max=20),
                     metadata={"example": "492039", "description": "from the authenticator app"})
RecoveryCodeField = fields.String(validate=validate.Length(min=1, max=40),
                                  metadata={"example": "k7m2p-x9q4r"})
Token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SecondStep(Schema):
    """A sign-in that needs its second step: no session yet. Send a code (or a recovery code)
    with `mfa_token` to /auth/login/second-step, or sign in with a passkey, before
    `expires_at`."""

    mfa_required = fields.Boolean(metadata={"example": True})
    mfa_token = fields.String()
    methods = fields.List(fields.String(metadata={"enum": ["totp", "recovery_code",
                                                           "passkey"]}))
    expires_at = fields.String(metadata={"format": "date-time"})


class SecondStepIn(StrictSchema):
    mfa_token = Token
    code = Code
    recovery_code = RecoveryCodeField


class PasswordResetRequest(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class PasswordReset(StrictSchema):
    token = Token
    new_password = NewPassword


class Accepted(Schema):
    status = fields.String(metadata={"example": "accepted", "description": (
        "the same whatever the address: a registered one gets a link by e-mail")})


class PasswordResetDone(Schema):
    status = fields.String(metadata={"example": "changed"})
    sessions_ended = fields.Integer()


class EmailVerification(StrictSchema):
    token = Token


class PendingEmail(Schema):
    pending_email = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class Reauthenticate(StrictSchema):
    """One of: the password, an authenticator code, a recovery code, or a passkey (`ceremony`
    from /me/reauthenticate/passkey-options and the browser's `credential`)."""

    password = fields.String(validate=validate.Length(min=1, max=1024))
    code = Code
    recovery_code = RecoveryCodeField
    ceremony = fields.String(validate=validate.Length(min=1, max=200))
    credential = fields.Dict()


class Reauthenticated(Schema):
    reauthenticated_until = fields.String(metadata={"format": "date-time"})


class TotpSetup(Schema):
    secret = fields.String(metadata={"description": "base32, for typing into the app"})
    otpauth_uri = fields.String(metadata={"example": "otpauth://totp/Portal:ana%40example.com?"
                                                     "secret=…&issuer=Portal"})
    digits = fields.Integer()
    period = fields.Integer()


class TotpConfirm(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))


class RecoveryCodes(Schema):
    recovery_codes = fields.List(fields.String(), metadata={
        "description": "shown once: each signs in once when the app is not at hand"})


class TotpState(Schema):
    enabled = fields.Boolean()
    enabled_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class PendingAddress(Schema):
    email = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})


class EmailState(Schema):
    address = fields.String()
    verified = fields.Boolean()
    pending = fields.Nested(PendingAddress, allow_none=True, metadata={
        "description": "a new address waiting for its verification link to be followed"})


class SecurityOverview(Schema):
    totp = fields.Nested(TotpState)
    recovery_codes_left = fields.Integer()
    passkeys = fields.Integer()
    email = fields.Nested(EmailState)
    passkeys_available = fields.Boolean(metadata={
        "description": "false where the portal's address is not a host name over https"})
    reauthenticated = fields.Boolean(metadata={
        "description": "sensitive changes are allowed now without confirming again"})
    staff_mfa_required = fields.Boolean()


# passkeys ------------------------------------------------------------------------------------

Credential = fields.Dict(required=True, metadata={
    "description": "the browser's PublicKeyCredential as JSON (credential.toJSON())"})
Ceremony = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
    "description": "the `ceremony` of the options this answers"})


class PasskeyCeremony(Schema):
    ceremony = fields.String(metadata={"description": "send it back with the browser's answer"})
    options = fields.Dict(metadata={"description": (
        "for navigator.credentials.create / .get (binary values base64url)")})


class PasskeyIn(StrictSchema):
    ceremony = Ceremony
    credential = Credential
    name = fields.String(validate=validate.Length(max=100), metadata={"example": "My phone"})


class PasskeyOut(Schema):
    id = fields.String(metadata={"example": "pk_3k4j5h6g7f8d9s0a1q2w3e4r"})
    name = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    last_used_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class PasskeyList(Schema):
    data = fields.List(fields.Nested(PasskeyOut), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class PasskeyOptionsIn(StrictSchema):
    mfa_token = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the second step of a password sign-in: only that account's passkeys"})


class PasskeySignIn(StrictSchema):
    ceremony = Ceremony
    credential = Credential
    mfa_token = fields.String(validate=validate.Length(min=1, max=200))
