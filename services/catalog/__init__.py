"""catalog: packages, add-ons, devices, prices, tax rates, promotions and service rules."""
