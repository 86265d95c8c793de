"""catalog: packages, add-ons, devices, prices, tax rates, service rules (not built yet)."""
