"""What billing accepts over RPC for subscriptions: the API's bodies
(services/common/contract/billing.py) with what an omitted field means to billing."""

from __future__ import annotations

from marshmallow import post_load

from services.common.contract.billing import AddAddon, Cancel, Change, Pause, Subscribe


class SubscribeSchema(Subscribe):
    """Monthly, no add-ons, no devices; a device's acquisition is the catalog's default."""

    @post_load
    def _defaults(self, data, **kwargs):
        devices = [{"acquisition": None, **device} for device in data.get("devices", [])]
        return {"billing_period": "month", "addons": [], **data, "devices": devices}


class ChangeSchema(Change):
    """`when`: the package's rule (None); not a preview."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"when": None, "preview": False, **data}


class AddonSchema(AddAddon):
    @post_load
    def _defaults(self, data, **kwargs):
        return {"preview": False, **data}


class PauseSchema(Pause):
    """Until resumed."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"until": None, **data}


class CancelSchema(Cancel):
    """At the period's end."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"when": "period_end", **data}
