"""The catalog service: what the operator sells, at which price, under which rules.

RPC (all arguments and results are JSON; errors are `services.common.errors` kinds):
- list_packages(tax_region=None, language=None) → [package]    active packages
- get_package(code) → package                    retired ones too; PACKAGE_NOT_FOUND
- list_addons(package=None, tax_region=None, language=None) → [add-on]   active; only those
  allowed on `package`
- list_devices(tax_region=None, language=None) → [device]       active
  The three lists give each price also with the tax of `tax_region` (`tax`, and `{net, tax,
  gross}` per price: see `pricing.with_tax`), by the rule billing charges with; names and
  descriptions in `language` where the operator translated them (`translations`).
- quote(currency, period, package, addons=(), devices=(), tax_region=None) → price snapshot
  (see `pricing`); NotFound PACKAGE_/ADDON_/DEVICE_NOT_FOUND; Conflict PACKAGE_NOT_AVAILABLE,
  ADDON_NOT_AVAILABLE, DEVICE_NOT_AVAILABLE, CURRENCY_NOT_OFFERED, PERIOD_NOT_OFFERED,
  ADDON_NOT_ALLOWED, TOO_MANY_ADDONS; InvalidArgument (duplicates, malformed)
- check_change(subscription, target) → {allowed, code, reason, effective[, until_latest,
  params]}: a forbidden change is an answer, not an error (see `rules`); InvalidArgument if
  malformed
- package_options(subscription) → [{package, kind, current, allowed, code, reason, params,
  effective}]: every package a change could go to, each with the rules' answer
- ops_list(kind) · ops_get(kind, code) · ops_create(kind, data) · ops_update(kind, code,
  changes) · ops_retire(kind, code)             kind: packages, addons, devices, tax_rates
  (keyed by `region`), promotions; InvalidArgument with fields; Conflict ALREADY_EXISTS;
  NotFound <KIND>_NOT_FOUND (see `entries`)
- health() → {"service", "database"}
Events: catalog_changed {kind, code, change: created | updated | retired}.

The ops verbs are each one transaction, committed here (`unit_of_work`); the modules flush.
"""

from __future__ import annotations

from sqlalchemy import text

from services.catalog import decisions, entries, pricing
from services.catalog.models import MIGRATIONS, Base
from services.common import errors
from services.common.clock import ClockProvider
from services.common.db import Database, unit_of_work
from services.common.observability import Observability
from services.common.rpc import rpc

EXPECTED = (errors.ServiceError,)


class CatalogService:
    name = "catalog"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()

    @rpc(expected_exceptions=EXPECTED)
    def list_packages(self, tax_region=None, language=None):
        return pricing.list_for_customers(self.db, "packages", tax_region, language=language)

    @rpc(expected_exceptions=EXPECTED)
    def get_package(self, code):
        return entries.get_package(self.db, code)

    @rpc(expected_exceptions=EXPECTED)
    def list_addons(self, package=None, tax_region=None, language=None):
        return pricing.list_for_customers(self.db, "addons", tax_region, package, language)

    @rpc(expected_exceptions=EXPECTED)
    def list_devices(self, tax_region=None, language=None):
        return pricing.list_for_customers(self.db, "devices", tax_region, language=language)

    @rpc(expected_exceptions=EXPECTED)
    def quote(self, currency, period, package, addons=(), devices=(), tax_region=None):
        args = {"currency": currency, "period": period, "package": package, "addons": addons,
                "devices": devices, "tax_region": tax_region}
        return pricing.quote(self.db, args, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def check_change(self, subscription, target):
        return decisions.check_change(self.db, subscription, target, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def package_options(self, subscription):
        return decisions.package_options(self.db, subscription)

    @rpc(expected_exceptions=EXPECTED)
    def ops_list(self, kind):
        return entries.ops_list(self.db, kind)

    @rpc(expected_exceptions=EXPECTED)
    def ops_get(self, kind, code):
        return entries.ops_get(self.db, kind, code)

    @rpc(expected_exceptions=EXPECTED)
    def ops_create(self, kind, data):
        with unit_of_work(self.db):
            return entries.create(self.db, kind, data, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def ops_update(self, kind, code, changes):
        with unit_of_work(self.db):
            return entries.update(self.db, kind, code, changes, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def ops_retire(self, kind, code):
        with unit_of_work(self.db):
            return entries.retire(self.db, kind, code, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
