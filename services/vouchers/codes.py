"""Voucher codes: unguessable, typo-safe, and useless in a database dump.

- A code is 13 random symbols of Crockford's base32 (65 bits) and one check symbol (Luhn mod
  32: it catches every single wrong symbol and nearly every swap of two neighbours), shown as
  `XXXX-XXXX-XXXX-XX`. Input is forgiving the Crockford way: case, spaces and dashes do not
  matter, `O` reads as `0`, `I` and `L` as `1`.
- Codes are **derived**, not stored: code = HMAC(code key, "<batch id>:<serial>:<variant>")
  cut to 65 bits. The database keeps only HMAC(lookup key, code), to find a voucher by the
  code a customer typed. Without the secret (`VOUCHER_SECRET_KEY`) a dump gives neither the
  codes nor a way to test guesses offline; with it, a print batch's export regenerates its
  codes (nothing to decrypt, nothing to keep in memory). `variant` moves on if two codes ever
  met on the lookup key's unique index (about once in 10^13 vouchers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
N = len(ALPHABET)
INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
RANDOM_SYMBOLS = 13  # 65 bits
LENGTH = RANDOM_SYMBOLS + 1
READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


SINGLE = {ch: i for ch, i in INDEX.items()}
DOUBLED = {ch: (2 * i) // N + (2 * i) % N for ch, i in INDEX.items()}
FROM_RFC4648 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)


def _luhn_sum(symbols: str, double_first: bool) -> int:
    """Luhn mod N: from the right, every other symbol's value doubled (digits summed in base N)."""
    backwards = symbols[::-1]
    doubled, single = (backwards[0::2], backwards[1::2]) if double_first else \
        (backwards[1::2], backwards[0::2])
    return sum(map(DOUBLED.__getitem__, doubled)) + sum(map(SINGLE.__getitem__, single))


def check_symbol(body: str) -> str:
    return ALPHABET[(N - _luhn_sum(body, True) % N) % N]


def normalize(text: str) -> str:
    """What the customer typed, as a bare code (may still be invalid)."""
    return "".join(ch for ch in text.upper() if ch not in " -\t").translate(READS_AS)


def is_well_formed(code: str) -> bool:
    """Length, alphabet and check symbol: a typo is caught here, before any lookup."""
    return (len(code) == LENGTH and all(ch in INDEX for ch in code)
            and _luhn_sum(code, False) % N == 0)


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


class CodeKeys:
    """The two keys derived from the operator's secret: one makes codes, one finds them."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("VOUCHER_SECRET_KEY must be set")
        master = secret.encode()
        code_key = hmac.new(master, b"voucher-code", hashlib.sha256).digest()
        lookup_key = hmac.new(master, b"voucher-lookup", hashlib.sha256).digest()
        # keyed once; each code copies the keyed state (a million codes per batch)
        self._code_mac = hmac.new(code_key, digestmod=hashlib.sha256)
        self._lookup_mac = hmac.new(lookup_key, digestmod=hashlib.sha256)

    def code_for(self, batch_id: str, serial: str, variant: int = 0) -> str:
        mac = self._code_mac.copy()
        mac.update(f"{batch_id}:{serial}:{variant}".encode())
        # the digest's first 65 bits as 13 base32 symbols (RFC 4648's, mapped to Crockford's)
        body = base64.b32encode(mac.digest()[:10])[:RANDOM_SYMBOLS].decode().translate(
            FROM_RFC4648)
        return body + check_symbol(body)

    def lookup_hash(self, code: str) -> str:
        mac = self._lookup_mac.copy()
        mac.update(code.encode())
        return mac.hexdigest()
