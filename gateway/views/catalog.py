"""What the operator sells, as customers (and visitors) browse it, each price with the tax of
the customer's region; and the ops side that manages it."""

from __future__ import annotations

from gateway.http import Call, Reply
from services.common import config as keys
from services.common import errors
from services.common.schemas import SUPPORTED_LANGUAGES

KINDS = ("packages", "addons", "devices", "tax_rates", "promotions")


def tax_region(gw, call: Call) -> str | None:
    """The tax region prices are shown for: the customer's own (none: no tax, as billing charges
    them), or for a visitor the operator's DEFAULT_TAX_REGION."""
    if call.principal is not None:
        return call.principal.account.get("tax_region")
    return gw.config.get(keys.DEFAULT_TAX_REGION) or None


def language(call: Call) -> str | None:
    """The language customer texts are given in: the account's, or for a visitor the best the
    browser accepts (Accept-Language) of those the portal speaks; None: as entered."""
    if call.principal is not None:
        return call.principal.account.get("language")
    return call.request.accept_languages.best_match(SUPPORTED_LANGUAGES)


def _shown(gw, entries: list[dict]) -> dict:
    return {"data": entries, "price_display": keys.price_display(gw.config)}


def packages(gw, call: Call) -> dict:
    return _shown(gw, gw.catalog.list_packages(tax_region=tax_region(gw, call),
                                               language=language(call)))


def addons(gw, call: Call) -> dict:
    return _shown(gw, gw.catalog.list_addons(call.query.get("package"),
                                             tax_region=tax_region(gw, call),
                                             language=language(call)))


def devices(gw, call: Call) -> dict:
    return _shown(gw, gw.catalog.list_devices(tax_region=tax_region(gw, call),
                                              language=language(call)))


def _kind(call: Call) -> str:
    kind = call.path["kind"]
    if kind not in KINDS:
        raise errors.NotFound(f"No catalog list called {kind!r}; there are {', '.join(KINDS)}.")
    return kind


def ops_list(gw, call: Call) -> dict:
    return {"data": gw.catalog.ops_list(_kind(call))}


def ops_get(gw, call: Call) -> dict:
    return gw.catalog.ops_get(_kind(call), call.path["code"])


def ops_create(gw, call: Call) -> Reply:
    return Reply(gw.catalog.ops_create(_kind(call), call.body), status=201)


def ops_update(gw, call: Call) -> dict:
    return gw.catalog.ops_update(_kind(call), call.path["code"], call.body)


def ops_retire(gw, call: Call) -> dict:
    return gw.catalog.ops_retire(_kind(call), call.path["code"])
