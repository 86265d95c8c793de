"""What a deployment must provide, checked without starting anything: secrets and the admin's
password (refused when published or missing, outside DEMO_MODE), the compose file (no default
secrets, each service its own database role), the local runner's demo settings, HTTPS-dependent
cookies and HSTS, the keyed card fingerprint."""

import hashlib
import json
import pathlib
import re

import pytest
import yaml

from deploy import demo
from deploy.run import demo_settings
from gateway.transport import DEFAULT_HSTS_SECONDS, cookies_secure, hsts_header
from services.accounts.service import admin_settings
from services.billing.money.provider import Card, SandboxProvider
from services.common import config as keys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
GOOD_SECRET = "k9VbT2x-QhW8mZr4LpYs7NcF1uJd5EgAo3"
SERVICE_DATABASES = {"accounts", "billing", "catalog", "vouchers", "tickets", "notifier",
                     "insights"}


# secrets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, problem", [
    (None, "is not set"), ("", "is not set"), ("  ", "is not set"),
    ("dev-only-voucher-secret", "published"), ("dev-only-change-me", "published"),
    ("change-me-too", "published"), ("short but random 7f3k", "shorter than 32")])
def test_a_missing_published_or_short_secret_is_refused_naming_the_setting(value, problem):
    with pytest.raises(keys.InsecureConfiguration) as refused:
        keys.secret({keys.VOUCHER_SECRET_KEY: value}, keys.VOUCHER_SECRET_KEY, "codes")
    message = str(refused.value)
    assert message.startswith("Refusing to start: VOUCHER_SECRET_KEY ") and problem in message
    assert "Set VOUCHER_SECRET_KEY" in message and "token_urlsafe" in message


def test_demo_mode_accepts_published_secrets_but_not_a_missing_one():
    config = {keys.DEMO_MODE: True, keys.SECRET_KEY: "dev-only-change-me"}
    assert keys.secret(config, keys.SECRET_KEY, "x") == "dev-only-change-me"
    with pytest.raises(keys.InsecureConfiguration, match="VOUCHER_SECRET_KEY is not set"):
        keys.secret(config, keys.VOUCHER_SECRET_KEY, "codes")
    assert keys.secret({keys.SECRET_KEY: GOOD_SECRET}, keys.SECRET_KEY, "x") == GOOD_SECRET


def test_derived_keys_differ_by_purpose_and_need_a_proper_secret_key():
    config = {keys.SECRET_KEY: GOOD_SECRET}
    assert keys.derived_key(config, "a") != keys.derived_key(config, "b")
    assert keys.derived_key(config, "a") == keys.derived_key(dict(config), "a")
    with pytest.raises(keys.InsecureConfiguration, match="SECRET_KEY is a default"):
        keys.derived_key({keys.SECRET_KEY: "dev-only-change-me"}, "a")


def test_every_published_demo_password_is_a_known_default():
    published = [demo.ADMIN["password"], demo.AGENT["password"]]
    published += [customer["password"] for customer in demo.CUSTOMERS]
    assert all(keys.known_default(password) for password in published)


# the admin -----------------------------------------------------------------------------------

def test_the_demo_admins_password_is_refused_outside_demo_mode_only():
    config = {keys.ADMIN_EMAIL: "ops@example.org", keys.ADMIN_PASSWORD: demo.ADMIN["password"]}
    with pytest.raises(keys.InsecureConfiguration) as refused:
        admin_settings(config)
    assert "ADMIN_PASSWORD is a password published with the code" in str(refused.value)
    assert admin_settings({**config, keys.DEMO_MODE: "true"}) == (
        "ops@example.org", demo.ADMIN["password"])


@pytest.mark.parametrize("email, password, named", [
    ("ops@example.org", None, "ADMIN_PASSWORD is not set"),
    ("ops@example.org", "", "ADMIN_PASSWORD is not set"),
    (None, "a passphrase of our own", "ADMIN_EMAIL is not set"),
    ("ops@example.org", "short", "ADMIN_PASSWORD must be at least 8 characters")])
def test_half_an_admin_or_a_weak_password_is_refused(email, password, named):
    with pytest.raises(keys.InsecureConfiguration, match=named):
        admin_settings({keys.ADMIN_EMAIL: email, keys.ADMIN_PASSWORD: password})


def test_no_admin_settings_mean_no_admin_to_make():
    assert admin_settings({keys.ADMIN_EMAIL: None, keys.ADMIN_PASSWORD: ""}) is None


# the shipped configuration -------------------------------------------------------------------

def test_config_yaml_has_no_default_for_any_secret():
    text = (ROOT / "deploy" / "config.yaml").read_text()
    for name in ("SECRET_KEY", "VOUCHER_SECRET_KEY", "ADMIN_PASSWORD", "ADMIN_EMAIL"):
        line = re.search(rf"^{name}: (.*)$", text, re.M).group(1)
        assert line.endswith(f"${{{name}:}}"), line
    assert re.search(r"^DEMO_MODE: \$\{DEMO_MODE:false\}$", text, re.M)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolations(value: str) -> list[tuple[str, str, str]]:
    """`${NAME<op><rest>}` parts of a compose value: (name, op, rest)."""
    return re.findall(r"\$\{([A-Z0-9_]+)(:?[-?+]?)([^}]*)\}", value)


def test_the_compose_file_has_no_default_secret_or_password():
    secretish = re.compile(r"SECRET|PASSWORD|PASS\b|_KEY")
    found = 0
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            for var, op, rest in interpolations(str(value)):
                if secretish.search(var) or secretish.search(key):
                    found += 1
                    # `${X:?message}` stops compose when X is missing; `${X:-}` is empty
                    assert op in (":?", "?") or (op in (":-", "-") and rest == ""), \
                        f"{name}.{key} defaults {var} to {rest!r}"
            if secretish.search(key) and not interpolations(str(value)):
                pytest.fail(f"{name}.{key} is a constant: {value!r}")
    assert found >= 12
    # no credentials written into a URL either
    for service in compose()["services"].values():
        for value in (service.get("environment") or {}).values():
            for userinfo in re.findall(r"://([^@/]+)@", str(value)):
                assert "${" in userinfo.split(":", 1)[1], value


def test_each_service_connects_as_its_own_role_to_its_own_database_only():
    services = compose()["services"]
    init_sql = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for name in SERVICE_DATABASES:
        env = services[name]["environment"]
        urls = {k: v for k, v in env.items() if k.endswith("DATABASE_URL")}
        assert list(urls) == [f"{name.upper()}_DATABASE_URL"], (name, list(urls))
        url = urls[f"{name.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql://{name}:\$\{{{name.upper()}_DB_PASSWORD:\?[^}}]+\}}"
                            rf"@pgbouncer:5432/{name}", url), url  # through the pooler
        assert f"CREATE ROLE {name} LOGIN PASSWORD :'{name}_password';" in init_sql
        assert f"CREATE DATABASE {name} OWNER {name};" in init_sql
        assert f"REVOKE ALL ON DATABASE {name} FROM PUBLIC;" in init_sql
        assert f"{name.upper()}_DB_PASSWORD" in services["postgres"]["environment"]
        assert "DEMO_MODE" not in env
    # only the service that uses a secret is given it
    holders = {name for name, s in services.items() if "VOUCHER_SECRET_KEY" in
               (s.get("environment") or {})}
    assert holders == {"vouchers"}
    assert {name for name, s in services.items()
            if "SECRET_KEY" in (s.get("environment") or {})} == {"billing"}
    statements = " ".join(line for line in init_sql.upper().splitlines()
                          if not line.startswith("--"))
    assert not {"SUPERUSER", "CREATEDB", "CREATEROLE", "GRANT"} & set(statements.split())


# `make run`: zero-config, as a demo ----------------------------------------------------------

def test_the_local_runner_supplies_demo_settings_and_keeps_the_generated_secrets(tmp_path):
    env = {}
    notes = demo_settings(env, tmp_path / "var")
    assert env["DEMO_MODE"] == "true" and any("DEMO_MODE" in note for note in notes)
    assert (env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"]) == (demo.ADMIN["email"],
                                                           demo.ADMIN["password"])
    assert len(env["SECRET_KEY"]) >= 32 and len(env["VOUCHER_SECRET_KEY"]) >= 32
    assert env["SECRET_KEY"] != env["VOUCHER_SECRET_KEY"]
    stored = tmp_path / "var" / "demo-secrets.json"
    assert json.loads(stored.read_text())["VOUCHER_SECRET_KEY"] == env["VOUCHER_SECRET_KEY"]
    assert stored.stat().st_mode & 0o077 == 0
    again = {}
    demo_settings(again, tmp_path / "var")  # a restart: vouchers made before still redeem
    assert again["VOUCHER_SECRET_KEY"] == env["VOUCHER_SECRET_KEY"]


def test_the_local_runner_keeps_what_the_user_set(tmp_path):
    env = {"ADMIN_EMAIL": "me@example.org", "ADMIN_PASSWORD": "my own passphrase",
           "VOUCHER_SECRET_KEY": GOOD_SECRET}
    demo_settings(env, tmp_path)
    assert env["ADMIN_EMAIL"] == "me@example.org"
    assert env["ADMIN_PASSWORD"] == "my own passphrase"
    assert env["VOUCHER_SECRET_KEY"] == GOOD_SECRET
    assert "VOUCHER_SECRET_KEY" not in json.loads((tmp_path / "demo-secrets.json").read_text())
    production = {"DEMO_MODE": "false"}
    assert demo_settings(production, tmp_path) == [] and production == {"DEMO_MODE": "false"}


# transport -----------------------------------------------------------------------------------

def test_cookies_are_secure_by_default_exactly_when_the_portal_is_https():
    assert cookies_secure({keys.PUBLIC_URL: "https://portal.example.com"})
    assert cookies_secure({keys.PUBLIC_URL: "https://portal.example.com",
                           keys.COOKIE_SECURE: None})
    assert not cookies_secure({keys.PUBLIC_URL: "http://127.0.0.1:8000"})
    assert not cookies_secure({keys.PUBLIC_URL: "https://x", keys.COOKIE_SECURE: "false"})
    assert cookies_secure({keys.PUBLIC_URL: "http://x", keys.COOKIE_SECURE: True})


def test_hsts_is_sent_only_for_an_https_portal():
    assert hsts_header({keys.PUBLIC_URL: "https://portal.example.com"}) == (
        f"max-age={DEFAULT_HSTS_SECONDS}")
    assert hsts_header({keys.PUBLIC_URL: "https://p", keys.HSTS_SECONDS: "600"}) == "max-age=600"
    assert hsts_header({keys.PUBLIC_URL: "https://p", keys.HSTS_SECONDS: 0}) is None
    assert hsts_header({keys.PUBLIC_URL: "http://127.0.0.1:8000"}) is None
    with pytest.raises(ValueError, match="HSTS_SECONDS"):
        hsts_header({keys.PUBLIC_URL: "https://p", keys.HSTS_SECONDS: "a year"})


# the card fingerprint ------------------------------------------------------------------------

def test_the_card_fingerprint_is_keyed():
    number = "4242424242424242"
    card = Card(number, 12, 2030, "123", "Ann")
    one = SandboxProvider("sqlite://", b"key one")
    other = SandboxProvider("sqlite://", b"key two")
    first = one.tokenize(card).fingerprint
    assert first == one.tokenize(card).fingerprint  # the same card is recognised
    assert first != one.tokenize(Card("5555555555554444", 12, 2030, "123", "Ann")).fingerprint
    assert first != other.tokenize(card).fingerprint  # without the key, no match
    for unkeyed in (f"sandbox:{number}", number):  # nor a plain hash of the number
        assert first != hashlib.sha256(unkeyed.encode()).hexdigest()[:24]
    with pytest.raises(ValueError):
        SandboxProvider("sqlite://", b"")


def test_prices_are_shown_gross_unless_the_operator_says_net_and_nothing_else_is_accepted():
    assert keys.price_display({}) == "gross"
    assert keys.price_display({keys.PRICE_DISPLAY: " Net "}) == "net"
    with pytest.raises(ValueError, match="PRICE_DISPLAY is 'both'"):
        keys.price_display({keys.PRICE_DISPLAY: "both"})
    shipped = pathlib.Path("deploy/config.yaml").read_text(encoding="utf-8")
    assert "\nPRICE_DISPLAY: ${PRICE_DISPLAY:gross}\n" in shipped
