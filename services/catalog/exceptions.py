"""Error codes catalog answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table.

`check_change` never raises for a forbidden change: it answers `allowed: false` with one of the
"decision codes" below and a reason a customer can read.
"""

# raised (kind in the comment)
PACKAGE_NOT_FOUND = "PACKAGE_NOT_FOUND"  # NotFound
ADDON_NOT_FOUND = "ADDON_NOT_FOUND"  # NotFound
DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"  # NotFound
TAX_RATE_NOT_FOUND = "TAX_RATE_NOT_FOUND"  # NotFound (ops)
PROMOTION_NOT_FOUND = "PROMOTION_NOT_FOUND"  # NotFound (ops)
ALREADY_EXISTS = "ALREADY_EXISTS"  # Conflict (ops_create with a taken code)
PACKAGE_NOT_AVAILABLE = "PACKAGE_NOT_AVAILABLE"  # Conflict in quote; decision in check_change
ADDON_NOT_AVAILABLE = "ADDON_NOT_AVAILABLE"  # Conflict in quote (retired); decision
DEVICE_NOT_AVAILABLE = "DEVICE_NOT_AVAILABLE"  # Conflict in quote (retired)
CURRENCY_NOT_OFFERED = "CURRENCY_NOT_OFFERED"  # Conflict
PERIOD_NOT_OFFERED = "PERIOD_NOT_OFFERED"  # Conflict
ADDON_NOT_ALLOWED = "ADDON_NOT_ALLOWED"  # Conflict in quote; decision in check_change
TOO_MANY_ADDONS = "TOO_MANY_ADDONS"  # Conflict in quote; decision in check_change

# decisions of check_change (allowed: false)
SAME_PACKAGE = "SAME_PACKAGE"
CHANGE_NOT_ALLOWED = "CHANGE_NOT_ALLOWED"
DOWNGRADE_AT_PERIOD_END = "DOWNGRADE_AT_PERIOD_END"
ADDON_ALREADY_ADDED = "ADDON_ALREADY_ADDED"
ADDON_NOT_PRESENT = "ADDON_NOT_PRESENT"
PAUSE_NOT_ALLOWED = "PAUSE_NOT_ALLOWED"
PAUSE_TOO_LONG = "PAUSE_TOO_LONG"
MINIMUM_TERM = "MINIMUM_TERM"
