"""Nothing the server answers reaches a customer or an agent in English only: every error code a
service or the gateway can answer has a text in the portal's dictionaries (the other languages
are held to English's keys by test_translations.py), and every refusal of the catalog's rules
has a text per action whose words are the params the refusal carries."""

import datetime as dt
import json
import pathlib
import re

import pytest

from services.catalog import rules

ROOT = pathlib.Path(__file__).resolve().parents[2]
I18N = ROOT / "gateway" / "static" / "i18n"
CODE = re.compile(r'code="([A-Z][A-Z0-9_]+)"')
DEFAULT = re.compile(r'default_code = "([A-Z][A-Z0-9_]+)"')
CONSTANT = re.compile(r'^[A-Z][A-Z0-9_]+ = "([A-Z][A-Z0-9_]+)"', re.M)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def dictionary(language="en") -> dict:
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


def text(tree: dict, key: str) -> str | None:
    node = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


def server_codes() -> set[str]:
    """Every error code in the services' exceptions.py, a `code="…"` a service or the gateway
    raises with, and the error kinds' defaults."""
    codes: set[str] = set()
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py")]:
        source = path.read_text(encoding="utf-8")
        codes |= set(CODE.findall(source)) | set(DEFAULT.findall(source))
        if path.name == "exceptions.py":
            codes |= set(CONSTANT.findall(source))
    return codes


def test_the_scan_finds_the_codes_it_should():
    codes = server_codes()
    assert {"SUBSCRIPTION_NOT_FOUND", "SERVICE_UNAVAILABLE", "CARD_ALREADY_SAVED",
            "VOUCHER_EXPIRED", "IDEMPOTENCY_KEY_REQUIRED", "CHANGE_NOT_ALLOWED"} <= codes
    assert len(codes) > 90


@pytest.mark.parametrize("language", ["en", "de", "it", "th"])
def test_every_error_code_the_server_answers_has_a_text(language):
    tree = dictionary(language)
    missing = sorted(code for code in server_codes()
                     if text(tree, f"errors.{code}") is None
                     and text(tree, f"vouchers.errors.{code}") is None)
    assert not missing, f"{language}: no errors.<CODE> text for {missing}"


# --- the catalog's rules: every refusal, as each action meets it -----------------------------

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def package(code, name, **rule):
    return rules.PackageInfo(code, name, rules.Rules(**rule))


def subscription(current, addons=()):
    start = NOW - dt.timedelta(days=10)
    return rules.Subscription(current, tuple(addons), start, start, start + dt.timedelta(days=30))


def refusals():
    """(action, Decision) for every way each rule refuses."""
    basic = package("basic", "Basic", upgrades_to=("premium",), downgrades_to=(),
                    max_addons=1, min_term_months=12)
    premium = package("premium", "Premium", downgrades_to=("basic",), max_addons=0,
                      pause_allowed=True, max_pause_days=30)
    kids = package("kids", "Kids")
    retired = rules.PackageInfo("old", "Old", rules.Rules(), active=False)
    sports = rules.AddonInfo("sports", "Sports", frozenset({"basic"}))
    gone = rules.AddonInfo("golf", "Golf", frozenset({"basic"}), active=False)
    with_sports = subscription(basic, [sports])
    yield "change_package", rules.change_package(with_sports, basic, "basic")
    yield "change_package", rules.change_package(with_sports, None, "gold")
    yield "change_package", rules.change_package(with_sports, retired, "old")
    yield "change_package", rules.change_package(with_sports, premium, "premium")  # add-on
    yield "change_package", rules.change_package(subscription(basic), kids, "kids")
    yield "change_package", rules.change_package(subscription(kids), basic, "basic")
    yield "change_package", rules.change_package(subscription(premium), basic, "basic", "now")
    yield "change_package", rules.change_package(
        subscription(basic, [rules.AddonInfo("sports", "Sports", frozenset({"basic", "premium"}))]),
        premium, "premium")
    yield "add_addon", rules.add_addon(with_sports, sports, "sports")
    yield "add_addon", rules.add_addon(subscription(basic), None, "golf")
    yield "add_addon", rules.add_addon(subscription(basic), gone, "golf")
    yield "add_addon", rules.add_addon(subscription(premium), sports, "sports")
    yield "add_addon", rules.add_addon(with_sports, rules.AddonInfo(
        "movies", "Movies", frozenset({"basic"})), "movies")
    yield "remove_addon", rules.remove_addon(subscription(basic), sports, "sports")
    yield "pause", rules.pause(subscription(basic), None, NOW)
    yield "pause", rules.pause(subscription(premium), (NOW + dt.timedelta(days=90)).date(), NOW)
    yield "cancel", rules.cancel(subscription(basic), "now", NOW)


def test_every_refusal_is_reached():
    codes = {(action, d.code) for action, d in refusals()}
    assert not any(d.allowed for _, d in refusals())
    assert {("change_package", c) for c in ("SAME_PACKAGE", "PACKAGE_NOT_AVAILABLE",
                                            "ADDON_NOT_ALLOWED", "CHANGE_NOT_ALLOWED",
                                            "DOWNGRADE_AT_PERIOD_END", "TOO_MANY_ADDONS")} <= codes
    assert {("add_addon", c) for c in ("ADDON_ALREADY_ADDED", "ADDON_NOT_AVAILABLE",
                                       "ADDON_NOT_ALLOWED", "TOO_MANY_ADDONS")} <= codes
    assert {("pause", "PAUSE_NOT_ALLOWED"), ("pause", "PAUSE_TOO_LONG"),
            ("cancel", "MINIMUM_TERM"), ("remove_addon", "ADDON_NOT_PRESENT")} <= codes


@pytest.mark.parametrize("language", ["en", "de", "it", "th"])
def test_every_refusal_has_a_text_made_of_the_params_it_carries(language):
    tree = dictionary(language)
    for action, decision in refusals():
        key = f"rules.{action}.{decision.code}"
        words = text(tree, key)
        assert words is not None, f"{language}: no text {key}"
        params = decision.extra.get("params")
        assert isinstance(params, dict) and params, f"{key}: the refusal carries no params"
        assert all(isinstance(v, str) for v in params.values()), (key, params)
        wanted = set(PLACEHOLDER.findall(words))
        assert wanted <= set(params), f"{language} {key}: {wanted - set(params)} not sent"
