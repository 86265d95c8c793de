"""Events catalog emits (through the outbox). Payload entity: `catalog`, i.e.
`{"event_id", "occurred_at", "catalog": {"kind", "code", "change"}}` where `kind` is one of
`entries.KINDS`, `code` the entry's key (a region for tax rates) and `change` one of CHANGES."""

CATALOG_CHANGED = "catalog_changed"

CREATED = "created"
UPDATED = "updated"
RETIRED = "retired"
CHANGES = (CREATED, UPDATED, RETIRED)
