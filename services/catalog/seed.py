"""Loading a catalog file (such as `deploy/demo_catalog.json`) through the ops verbs.

The file is `{"devices": [...], "packages": [...], "addons": [...], "tax_rates": [...],
"promotions": [...]}`, each entry in the shape `ops_create` accepts. Entries refer to each
other and every reference must exist when it is written, so the loader goes in two passes:
1. devices; then packages *without* their upgrade and downgrade paths (packages refer to each
   other in both directions, so no order of packages would do);
2. each package's `rules.upgrades_to` / `downgrades_to` with `ops_update` (rules merge key by
   key); then add-ons, tax rates and promotions, which refer to packages.
Safe to run again: an entry that exists is left as it is (ops may have changed it since); a
package created without its paths (a run that stopped between the passes) gets them.

`ops` is anything with the service's `ops_get`, `ops_create` and `ops_update`: the service
itself in tests, a `ServiceRpcProxy("catalog", config)`, or a thin HTTP client.
"""

from __future__ import annotations

from services.common import errors

PATHS = ("upgrades_to", "downgrades_to")
KEYS = {"tax_rates": "region"}


def _existing(ops, kind: str, key: str) -> dict | None:
    try:
        return ops.ops_get(kind, key)
    except errors.NotFound:
        return None


def _create(ops, kind: str, entry: dict, report: dict) -> None:
    if _existing(ops, kind, entry[KEYS.get(kind, "code")]) is None:
        ops.ops_create(kind, entry)
        report["created"] += 1
    else:
        report["existing"] += 1


def load(ops, catalog: dict) -> dict:
    """Create what `catalog` lists; returns `{"created": n, "existing": n, "paths": n}`."""
    report = {"created": 0, "existing": 0, "paths": 0}
    for device in catalog.get("devices", ()):
        _create(ops, "devices", device, report)
    packages = catalog.get("packages", ())
    for package in packages:
        rules = {k: v for k, v in (package.get("rules") or {}).items() if k not in PATHS}
        _create(ops, "packages", {**package, "rules": rules}, report)
    for package in packages:
        paths = {k: (package.get("rules") or {}).get(k, []) for k in PATHS}
        stored = ops.ops_get("packages", package["code"])["rules"]
        if any(paths.values()) and not any(stored[k] for k in PATHS):
            ops.ops_update("packages", package["code"], {"rules": paths})
            report["paths"] += 1
    for kind in ("addons", "tax_rates", "promotions"):
        for entry in catalog.get(kind, ()):
            _create(ops, kind, entry, report)
    return report
