"""Demo data for `make run`, loaded through the public API like any client would.

Safe to run again: an account that exists already is left as it is.
"""

from __future__ import annotations

import requests

ADMIN = {"email": "admin@example.com", "password": "portal admin demo passphrase"}
CUSTOMERS = [
    {"email": "prepaid@example.com", "password": "prepaid demo passphrase",
     "name": "Paula Prepaid", "billing_type": "prepaid", "currency": "EUR", "language": "en",
     "phone": "+49 30 1234567",
     "address": {"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115",
                 "country": "DE"}},
    {"email": "postpaid@example.com", "password": "postpaid demo passphrase",
     "name": "Peter Postpaid", "billing_type": "postpaid", "currency": "EUR", "language": "de",
     "address": {"line1": "Ringstraße 5", "city": "München", "postal_code": "80331",
                 "country": "DE"}},
]


def load(base_url: str) -> list[dict]:
    """Create the demo customers; returns the logins to print."""
    logins = [{"role": "admin", "email": ADMIN["email"], "password": ADMIN["password"]}]
    for customer in CUSTOMERS:
        response = requests.post(f"{base_url}/api/v1/accounts", json=customer, timeout=30)
        if response.status_code not in (201, 409):
            raise RuntimeError(f"demo sign-up failed: {response.status_code} {response.text}")
        logins.append({"role": customer["billing_type"], "email": customer["email"],
                       "password": customer["password"]})
    return logins
