"""What accounts accepts over RPC and what it answers with."""

from __future__ import annotations

from services.common.clock import isoformat


def dump_account(customer) -> dict:
    return {
        "id": customer.id,
        "email": customer.email,
        "email_verified": customer.email_verified_at is not None,
        "name": customer.name,
        "phone": customer.phone,
        "address": customer.address,
        "language": customer.language,
        "billing_type": customer.billing_type,
        "currency": customer.currency,
        "tax_region": customer.tax_region,
        "role": customer.role,
        "teams": customer.team_names,
        "created_at": isoformat(customer.created_at),
        "updated_at": isoformat(customer.updated_at),
    }
