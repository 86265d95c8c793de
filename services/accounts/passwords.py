"""Password policy (OWASP ASVS 4, V2.1) and argon2id hashing.

Policy: at least 8 characters, up to 128 (long passphrases welcome, any character, no
composition rules), not one of the common passwords, not the account's own email. Hashing:
argon2id at the OWASP floor (m=19 MiB, t=2, p=1: about 18 ms here); hashes made with other
parameters are upgraded on the next successful login. Hashes are computed in a real thread
(`green.run_blocking`) and, by the callers, with no database transaction open: no lock is held
while one runs.
"""

from __future__ import annotations

import functools
import pathlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common import green

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def common_passwords() -> frozenset[str]:
    path = pathlib.Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def policy_problems(password: str, email: str | None = None) -> list[str]:
    """Why `password` is refused (empty list: acceptable)."""
    if not isinstance(password, str):
        return ["must be a string"]
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append("is too common; choose a less guessable password or a passphrase")
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        problems.append("must not be your email address")
    return problems


def hash_password(password: str) -> str:
    return green.run_blocking(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return green.run_blocking(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so timing does not reveal accounts."""
    return green.run_blocking(_hasher.hash, "not-a-real-password-but-the-same-cost")
