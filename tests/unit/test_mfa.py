"""Authenticator codes (RFC 6238) and recovery codes: the arithmetic, against the RFC's own
test vectors."""

import base64
import datetime as dt

import pytest

from services.accounts import mfa

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(("unix_time", "code"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")])
def test_codes_are_those_of_rfc_6238_appendix_b(unix_time, code):
    assert mfa.hotp(RFC_SECRET, unix_time // 30, digits=8) == code


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_a_code_is_accepted_one_step_either_side_and_never_before_the_last_used():
    now = at(1_700_000_000)
    step = mfa.step_at(now)
    for offset in (-1, 0, 1):
        code = mfa.hotp(RFC_SECRET, step + offset)
        assert mfa.matching_step(RFC_SECRET, code, now) == step + offset
    assert mfa.matching_step(RFC_SECRET, mfa.hotp(RFC_SECRET, step + 2), now) is None
    assert mfa.matching_step(RFC_SECRET, mfa.hotp(RFC_SECRET, step - 2), now) is None
    # a used step (and any before it) is never accepted again
    assert mfa.matching_step(RFC_SECRET, mfa.hotp(RFC_SECRET, step), now, after=step) is None
    assert mfa.matching_step(RFC_SECRET, " ".join(mfa.totp(RFC_SECRET, now)), now) == step
    for bad in ("", "12345", "1234567", "abcdef", None):
        assert mfa.matching_step(RFC_SECRET, bad, now) is None


def test_secrets_and_recovery_codes_are_random_and_read_back_leniently():
    assert len({mfa.new_secret() for _ in range(50)}) == 50
    assert len(base64.b32decode(mfa.new_secret())) == 20
    code = mfa.new_recovery_code()
    assert len(code) == 11 and code[5] == "-"
    assert mfa.code_hash(code) == mfa.code_hash(code.upper().replace("-", " "))
    assert mfa.code_hash(code) != mfa.code_hash(mfa.new_recovery_code())


def test_the_provisioning_uri_names_the_issuer_and_the_account():
    uri = mfa.provisioning_uri("ABC", "ann@example.com", "Kabel Nord")
    assert uri.startswith("otpauth://totp/Kabel%20Nord%3Aann%40example.com?")
    assert "secret=ABC" in uri and "issuer=Kabel+Nord" in uri and "period=30" in uri
