"""The OpenAPI document is generated from the routes the gateway really serves."""

from nameko.web.handlers import HttpRequestHandler

from gateway.openapi import openapi_path
from gateway.service import GatewayService, openapi_document

NOT_API = {"/", "/static/<path:path>", "/<path:path>"}


def served_routes():
    for attr in vars(GatewayService).values():
        for entrypoint in getattr(attr, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler) and entrypoint.url not in NOT_API:
                for method in entrypoint.method.split(","):
                    yield method.lower(), entrypoint.url


def test_every_served_route_is_in_the_openapi_document():
    document = openapi_document()
    routes = list(served_routes())
    assert len(routes) >= 16
    for method, url in routes:
        path = openapi_path(url)
        assert path in document["paths"], path
        assert method in document["paths"][path], (method, path)


def test_the_document_has_no_route_the_gateway_does_not_serve():
    served = {(m, openapi_path(u)) for m, u in served_routes()}
    documented = {(m, p) for p, ops in openapi_document()["paths"].items() for m in ops}
    assert documented == served


def test_request_bodies_come_from_the_validation_schemas():
    document = openapi_document()
    signup = document["paths"]["/api/v1/accounts"]["post"]
    schema_ref = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) == {"email", "password", "name", "billing_type", "currency"}
    assert schema["properties"]["name"]["maxLength"] == 200
    assert schema.get("additionalProperties") is False
    assert document["paths"]["/api/v1/ops/customers/{customer_id}"]["get"]["security"]


MONEY_MOVING = {  # every POST that moves money: Idempotency-Key required (issue #13 item 8)
    "/api/v1/wallet/top-ups", "/api/v1/invoices/{invoice_id}/pay", "/api/v1/vouchers/purchases",
    "/api/v1/ops/customers/{customer_id}/wallet/adjustments", "/api/v1/ops/voucher-batches",
    "/api/v1/ops/invoices/{invoice_id}/credit-notes",
    "/api/v1/ops/incidents/{incident_id}/resolve"}


def test_the_document_says_which_requests_need_an_idempotency_key():
    required, accepted = set(), set()
    for path, operations in openapi_document()["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if param.get("in") == "header" and param["name"] == "Idempotency-Key":
                    (required if param["required"] else accepted).add((method, path))
    assert required == {("post", path) for path in MONEY_MOVING}
    assert ("post", "/api/v1/subscriptions") in accepted
    assert ("post", "/api/v1/vouchers/redeem") not in required | accepted


def test_the_document_is_as_strict_as_the_validation():
    """What the fuzzing tier found looser in the document than in the code (issue #13 item 10)."""
    document = openapi_document()
    components, paths = document["components"]["schemas"], document["paths"]
    currency = components["Money"]["properties"]["currency"]
    assert "EUR" in currency["enum"] and "EURO" not in currency["enum"]
    assert "DE" in components["Address"]["properties"]["country"]["enum"]
    assert components["TopUpIn"]["oneOf"] and components["ChannelIn"]["oneOf"]
    assert components["EscalationTargetIn"]["oneOf"]
    assert components["TicketChange"]["minProperties"] == 1
    assert components["CardIn"]["properties"]["exp_year"]["minimum"] >= 2026
    assert components["SignUp"]["properties"]["password"]["minLength"] == 8
    assert components["VoucherBatchIn"]["properties"]["value"]["$ref"].endswith("PositiveMoney")
    # a nullable address is null or a whole address, not any object
    address = components["ProfileChange"]["properties"]["address"]
    assert "anyOf" not in address and address["nullable"] is True
    # also where apispec puts the loose branch second: {} is not a service credit
    credit = components["IncidentResolveIn"]["properties"]["credit"]
    assert "anyOf" not in credit and credit["allOf"][0]["$ref"].endswith("PositiveMoney")
    assert components["PositiveMoney"]["required"] == ["amount", "currency"]
    assert {tuple(b["required"]) for b in components["SilenceIn"]["anyOf"]} == {
        ("team",), ("rule_id",)}  # a silence names a team or a rule
    # an empty body is read as {}: required only where a field is
    assert paths["/api/v1/accounts"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/ops/billing-runs"]["post"]["requestBody"]["required"] is False
    ledger = {p["name"]: p for p in paths["/api/v1/wallet/transactions"]["get"]["parameters"]}
    assert ledger["cursor"]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,200}$"  # opaque
    for path in ("/api/v1/notifications", "/api/v1/vouchers/redemptions",
                 "/api/v1/ops/customers", "/api/v1/ops/approvals", "/api/v1/ops/audit-log",
                 "/api/v1/ops/deliveries", "/api/v1/ops/broadcasts",
                 "/api/v1/ops/voucher-batches", "/api/v1/ops/voucher-throttles"):
        query = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert query["cursor"]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,200}$", path
        assert query["limit"]["schema"]["maximum"] == 100, path
    assert "204" in paths["/api/v1/ops/channels/{channel_id}"]["delete"]["responses"]


def test_the_audit_logs_time_bounds_are_date_times_as_the_document_says():
    import pytest
    from marshmallow import ValidationError

    from gateway.schemas.governance import AuditQuery

    assert AuditQuery().load({"until": "2026-12-01T00:00:00Z"})["until"]
    for wrong in ("", "yesterday", "2026-12-01T00:00:00", "2026-13-01T00:00:00Z"):
        with pytest.raises(ValidationError):
            AuditQuery().load({"until": wrong})


def test_every_schemas_module_is_read_and_no_two_schemas_share_a_name():
    """The document's cross-field rules come from `SCHEMA_MODULES`: a new area module under
    gateway/schemas/ or services/common/contract/ must be listed there. A component is named by its class, so two schemas
    of one name in two areas would clash in the document."""
    import importlib
    import pkgutil

    from marshmallow import Schema

    from gateway import schemas
    from gateway.openapi import SCHEMA_MODULES
    from services.common import contract

    names = {f"gateway.schemas.{m.name}" for m in pkgutil.iter_modules(schemas.__path__)} | {
        f"services.common.contract.{m.name}" for m in pkgutil.iter_modules(contract.__path__)}
    assert {m.__name__ for m in SCHEMA_MODULES} == names
    by_name: dict[str, type] = {}
    for name in sorted(names):
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, Schema):
                assert by_name.setdefault(value.__name__, value) is value, (name, value)
    assert len(by_name) > 150
