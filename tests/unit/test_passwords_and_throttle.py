import datetime as dt

from services.accounts import passwords, throttle


def test_policy_accepts_long_passphrases_and_refuses_short_common_or_own_email():
    assert passwords.policy_problems("correct horse battery staple") == []
    assert passwords.policy_problems("ä" * 128) == []
    assert passwords.policy_problems("short") == ["must be at least 8 characters"]
    assert passwords.policy_problems("x" * 129) == ["must be at most 128 characters"]
    assert any("common" in p for p in passwords.policy_problems("Password1"))
    assert any("common" in p for p in passwords.policy_problems("qwertyuiop"))
    assert passwords.policy_problems("ann.smith@example.com", "Ann.Smith@example.com")


def test_hashes_are_argon2id_at_the_owasp_floor():
    hashed = passwords.hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(hashed, "correct horse battery staple")
    assert not passwords.verify_password(hashed, "correct horse battery stable")
    assert not passwords.verify_password("not a hash", "x")


def test_block_doubles_after_the_limit_and_is_capped():
    limit = throttle.PAIR_LIMIT  # 5 failures, then 30 s, doubling
    assert throttle.block_duration(limit, 4) is None
    assert throttle.block_duration(limit, 5) == dt.timedelta(seconds=30)
    assert throttle.block_duration(limit, 6) == dt.timedelta(seconds=60)
    assert throttle.block_duration(limit, 50) == limit.max_block
