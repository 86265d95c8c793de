"""Every word of the portal is translated: gateway/static/i18n/<lang>.json for each language the
portal offers (LANGUAGES in gateway/static/i18n.js), with the same keys as the English, no empty
text, the same {placeholders}, and no text left in English unless it is the same word in that
language (ALLOWED_SAME, each with its reason). Every key the front end asks for, t('…') or a key
built from a closed set of codes (ticket statuses, subscription statuses, …), is in en.json.

Texts are added with scripts/i18n_set.py, which writes every language at once."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from services.common.schemas import SUPPORTED_LANGUAGES

ROOT = pathlib.Path(__file__).resolve().parents[2]
STATIC = ROOT / "gateway" / "static"
I18N = STATIC / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

ALL = frozenset({"de", "it", "th"})
# (key, languages where the text is rightly the English one): why
ALLOWED_SAME = {
    # each language is named in its own words in every file (the language pickers)
    **{(f"language.{lang}", ALL): "an endonym" for lang in ("en", "de", "it", "th")},
    ("cards.brand.visa", ALL): "a brand", ("cards.brand.mastercard", ALL): "a brand",
    ("cards.brand.amex", ALL): "a brand",
    ("opsSupport.sla.label", ALL): "the acronym staff use in every language",
    ("currency.EUR", frozenset({"de", "it"})): "“Euro (EUR)” in German and Italian too",
    # German words spelled as the English ones
    **{(key, frozenset({"de"})): "the same word in German" for key in (
        "signup.name", "settings.name", "opsSupport.customerPanel.name", "deviceKind.router",
        "bills.status", "support.status", "opsVouchers.statusColumn",
        "opsSupport.statusColumn", "opsVouchers.type.online", "support.teamColumn",
        "opsSupport.team", "opsSupport.queueSummary", "support.detailsTitle",
        "support.actor.system", "opsSupport.tickets", "opsSupport.cannedAdmin.body")},
    # loanwords Italian portals use as they are, and the SI unit abbreviations
    **{(key, frozenset({"it"})): "the usual word in Italian" for key in (
        "nav.menu", "nav.short.dashboard", "login.password", "signup.password",
        "settings.section.password", "change.upgrade", "change.downgrade",
        "transactionType.voucher", "lines.voucher", "opsVouchers.perVoucher",
        "opsVouchers.type.online",
        "notificationSettings.channel.email", "opsSupport.customerPanel.email",
        "opsVouchers.throttleAccount", "support.teamColumn", "opsSupport.team",
        "opsSupport.escalation", "opsSupport.ageMinutes", "opsSupport.ageHours",
        "opsSupport.sla.minutes", "opsSupport.sla.hoursMinutes")},
}
ALLOWED = {(key, lang): why for (key, langs), why in ALLOWED_SAME.items() for lang in langs}


def _flat(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _sections(tree: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            out.add(f"{prefix}{key}")
            out |= _sections(value, f"{prefix}{key}.")
    return out


def _load(lang: str) -> dict:
    return json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))


def _portal_languages() -> list[str]:
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    found = re.search(r"export const LANGUAGES = \[([^\]]*)\]", source)
    assert found, "LANGUAGES not found in gateway/static/i18n.js"
    return re.findall(r"'(\w+)'", found.group(1))


LANGUAGES = _portal_languages()
OTHERS = [lang for lang in LANGUAGES if lang != "en"]
EN_TREE = _load("en")
EN = _flat(EN_TREE)
SECTIONS = _sections(EN_TREE)


def _has_words(text: str) -> bool:
    """Letters of its own besides placeholders ("{start} – {end}" has none)."""
    return bool(re.search(r"[^\W\d_]", PLACEHOLDER.sub("", text)))


def test_every_portal_language_has_a_file_and_every_file_a_language():
    files = sorted(p.stem for p in I18N.glob("*.json"))
    assert sorted(LANGUAGES) == files
    assert LANGUAGES[0] == "en"  # the fallback for a key missing at run time
    # a customer may choose each of them, and the server writes to them in it (the notifier)
    assert set(LANGUAGES) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_has_exactly_the_english_keys_and_no_empty_text(lang):
    texts = _flat(_load(lang))
    assert sorted(set(EN) - set(texts)) == [], f"missing in {lang}.json"
    assert sorted(set(texts) - set(EN)) == [], f"in {lang}.json but not in en.json"
    not_text = sorted(k for k, v in texts.items() if not isinstance(v, str))
    assert not_text == [], f"{lang}: values that are not text"
    empty = sorted(k for k, v in texts.items() if not v.strip())
    assert empty == [], f"{lang}: empty texts"


@pytest.mark.parametrize("lang", OTHERS)
def test_each_text_has_the_english_placeholders(lang):
    texts = _flat(_load(lang))
    differ = {key: (sorted(set(PLACEHOLDER.findall(en))), sorted(set(PLACEHOLDER.findall(text))))
              for key, en in EN.items()
              if isinstance(text := texts.get(key), str)
              and set(PLACEHOLDER.findall(en)) != set(PLACEHOLDER.findall(text))}
    assert differ == {}, f"{lang}: placeholders (English, {lang}) differ"


@pytest.mark.parametrize("lang", OTHERS)
def test_no_text_is_left_in_english(lang):
    texts = _flat(_load(lang))
    same = sorted(key for key, en in EN.items()
                  if texts.get(key) == en and _has_words(en) and (key, lang) not in ALLOWED)
    assert same == [], f"{lang}: texts identical to the English (translate, or allow with a reason)"


def test_thai_texts_are_in_thai_script():
    """A Thai text with words has Thai letters (catches English pasted with a small change)."""
    texts = _flat(_load("th"))
    latin_only = sorted(key for key, text in texts.items()
                        if _has_words(text) and not re.search("[\u0e00-\u0e7f]", text)
                        and (key, "th") not in ALLOWED)
    assert latin_only == []


def test_the_allow_list_has_no_exception_that_is_translated_now():
    """An allowed exception whose text now differs from the English is removed from the list.
    (A key not in en.json is not checked: it may be on its way in from someone's work.)"""
    stale = sorted((key, lang) for key, lang in ALLOWED
                   if key in EN and _flat(_load(lang)).get(key) != EN[key])
    assert stale == []


# --- the keys the front end asks for -------------------------------------------------------

def _sources() -> dict[pathlib.Path, str]:
    """The portal's own scripts (not the bundles built from them)."""
    return {p: p.read_text(encoding="utf-8") for p in sorted(STATIC.rglob("*.js"))
            if "dist" not in p.relative_to(STATIC).parts
            and "node_modules" not in p.relative_to(STATIC).parts}


SOURCES = _sources()
# a quoted dotted name whose first part is a section of en.json: 'support.faqTitle'
LITERAL = re.compile(r"""(['"])([A-Za-z]\w*(?:\.\w+)+)\1""")
# a template literal building a key: `ticketStatus.${status}`, `${keys}.expiredCard`
TEMPLATE = re.compile(r"`([^`]*\$\{[^`]*)`")
T_CALL = re.compile(r"""\b(?:t|has)\(\s*(['"])([^'"]+)\1""")
T_TEMPLATE_CALL = re.compile(r"\b(?:t|has)\(\s*`([^`]*\$\{[^`]*)`")


def test_the_sources_are_found():
    assert STATIC / "i18n.js" in SOURCES and any(p.parent.name == "pages" for p in SOURCES)
    assert sum(len(T_CALL.findall(text)) for text in SOURCES.values()) > 500


def test_every_literal_key_is_in_english():
    from services.common.permissions import PERMISSIONS  # 'support.configure' is not a text

    top = {key.split(".")[0] for key in EN}
    missing = set()
    for path, text in SOURCES.items():
        for _, key in T_CALL.findall(text):  # t('key'), has('key'): must be a text
            if key not in EN:
                missing.add((path.relative_to(STATIC).as_posix(), key))
        for _, key in LITERAL.findall(text):  # other key-like strings: a text or a section
            if key.split(".")[0] in top and key not in EN and key not in SECTIONS \
                    and key not in PERMISSIONS:
                missing.add((path.relative_to(STATIC).as_posix(), key))
    assert sorted(missing) == []


def test_every_built_key_has_its_section():
    """`ticketStatus.${s}`: the fixed part names a section; `${keys}.expiredCard`: some
    section has that text."""
    missing = set()
    for path, text in SOURCES.items():
        called = set(T_TEMPLATE_CALL.findall(text))
        for body in TEMPLATE.findall(text):
            static = re.split(r"\$\{", body, maxsplit=1)[0]
            tail = body.rsplit("}", 1)[-1]
            where = path.relative_to(STATIC).as_posix()
            if static.endswith(".") and re.fullmatch(r"[A-Za-z]\w*(\.\w+)*\.", static):
                # in t(`…`) / has(`…`) it is a key; elsewhere (`address.${part}`, a field's
                # name) only when it starts like one
                a_key = body in called or static.split(".")[0] in SECTIONS
                if a_key and static[:-1] not in SECTIONS:
                    missing.add((where, body))
            elif not static and re.fullmatch(r"(\.\w+)+", tail):
                if not any(key.endswith(tail) for key in EN):
                    missing.add((where, body))
    assert sorted(missing) == []


def _closed_sets() -> dict[str, tuple[str, ...]]:
    from services.accounts.audit import OUTCOMES
    from services.accounts.models import BILLING_TYPES
    from services.accounts.staff import STATUSES as APPROVAL_STATUSES
    from services.billing.money.ledger import TYPES as LEDGER_TYPES
    from services.billing.subscriptions.lifecycle import STATUSES as SUBSCRIPTION_STATUSES
    from services.common.contract.notifier import TOPICS
    from services.common.contract.tickets import PRIORITIES, TICKET_STATUSES

    return {
        "ticketStatus": TICKET_STATUSES,
        "opsSupport.status": TICKET_STATUSES,
        "support.priority": PRIORITIES,
        "subscriptionStatus": SUBSCRIPTION_STATUSES,
        "transactionType": LEDGER_TYPES,
        "billing": BILLING_TYPES,
        "notifications.topics": TOPICS,
        "opsGovernance.outcomes": OUTCOMES,
        # what a decision did: every approval status but the one still waiting
        "opsGovernance.done": tuple(s for s in APPROVAL_STATUSES if s != "pending"),
        "language": tuple(LANGUAGES),
    }


NOT_CODES = {"language": {"label"}}  # texts in such a section that are not one code's


@pytest.mark.parametrize("section", sorted(_closed_sets()))
def test_a_key_built_from_a_closed_set_has_a_text_for_each_code(section):
    codes = _closed_sets()[section]
    texts = {key.rsplit(".", 1)[1] for key in EN
             if key.rsplit(".", 1)[0] == section} - NOT_CODES.get(section, set())
    assert sorted(set(codes) - texts) == [], f"{section}: codes without a text"
    assert sorted(texts - set(codes)) == [], f"{section}: texts for codes that do not exist"
