"""Health: readiness (the broker and every service answer)."""

from __future__ import annotations

from marshmallow import Schema, fields


class Readiness(Schema):
    status = fields.String(metadata={"enum": ["ready", "not_ready"]})
    services = fields.Dict(keys=fields.String(), values=fields.String())
