"""Opaque, prefixed identifiers (`cus_…`, `ses_…`): random, revealing neither counts nor order."""

import base64
import secrets


def new_id(prefix: str) -> str:
    """`<prefix>_` followed by 120 random bits in lower-case base32 (24 characters)."""
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return f"{prefix}_{raw}"


def new_secret_token() -> str:
    """A bearer secret with 256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(32)
