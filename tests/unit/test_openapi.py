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
    """The document's cross-field rules come from every module under gateway/schemas/ and
    services/common/contract/ (`SCHEMA_MODULES`, found by walking both). A component is named
    by its class, so two schemas of one name in two areas would clash in the document."""
    from marshmallow import Schema

    from gateway.openapi import SCHEMA_MODULES

    names = {m.__name__ for m in SCHEMA_MODULES}
    assert {"gateway.schemas.support", "services.common.contract.tickets"} <= names
    by_name: dict[str, type] = {}
    for module in SCHEMA_MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Schema):
                assert by_name.setdefault(value.__name__, value) is value, (module, value)
    assert len(by_name) > 150


# --- one contract (#15): a request body is defined once, in services/common/contract/ ---------

def _strict_schemas(package) -> list[type]:
    """The StrictSchema subclasses defined (not imported) in the modules under `package`."""
    import importlib
    import pkgutil

    from services.common.schemas import StrictSchema

    found = []
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(info.name)
        found += [value for value in vars(module).values()
                  if isinstance(value, type) and issubclass(value, StrictSchema)
                  and value.__module__ == info.name]
    return found


def _service_schemas() -> list[type]:
    import importlib
    import pkgutil

    import services

    found = []
    for info in pkgutil.iter_modules(services.__path__):
        if info.ispkg and info.name != "common":
            found += _strict_schemas(importlib.import_module(f"services.{info.name}"))
    return found


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def test_no_gateway_request_schema_copies_a_services_own():
    """A request body the gateway checks and the service loads is one class (the contract's),
    or the service's subclass of it (adding only what needs the service): a gateway schema with
    the same field names as a service's, neither derived from the other, is a copy that drifts."""
    from gateway import schemas
    from services.common import contract

    ours = _strict_schemas(schemas) + _strict_schemas(contract)
    theirs = _service_schemas()
    assert len(ours) > 40 and len(theirs) > 20  # the walk found them
    copies = {(_name(g), _name(s)) for g in ours for s in theirs
              if set(g._declared_fields) == set(s._declared_fields)
              and not (issubclass(g, s) or issubclass(s, g))}
    assert copies == set(), "define these once in services/common/contract/"


# what a service's subclass adds from the path (not in the body the document describes)
FROM_THE_PATH = {"services.notifier.alerts.ChannelSchema": {"team": "network"}}


def _example(schema: dict, components: dict):
    """The smallest value the document's `schema` allows (or its `example`): the required
    properties (and `minProperties`); of a `oneOf`/`anyOf`, the first branch."""
    import re

    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "allOf" in schema:
        return _example(schema["allOf"][0], components)
    if "example" in schema:
        return schema["example"]
    for either in ("oneOf", "anyOf"):
        if either in schema:
            first = schema[either][0]
            schema = {**schema, **{k: v for k, v in first.items() if k in ("format", "enum")},
                      "required": [*schema.get("required", []), *first.get("required", [])],
                      "properties": {**schema.get("properties", {}),
                                     **{name: {**schema.get("properties", {}).get(name, {}),
                                               **prop}
                                        for name, prop in first.get("properties", {}).items()}}}
            schema.pop(either)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":  # the required properties, then the first others up to minProperties
        names = list(dict.fromkeys(schema.get("required", [])))
        names += [name for name in schema.get("properties", {}) if name not in names][
            :max(0, schema.get("minProperties", 0) - len(names))]
        return {name: _example(schema["properties"][name], components) for name in names}
    if kind == "array":
        return [_example(schema["items"], components)
                for _ in range(schema.get("minItems", 0))]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", min(0, schema.get("maximum", 0)))
    if kind == "string":
        by_format = {"date": "2030-01-01", "date-time": "2030-01-01T00:00:00+00:00",
                     "email": "someone@example.com", "uri": "https://example.com/hook"}
        if schema.get("format") in by_format:
            return by_format[schema["format"]]
        low, high = schema.get("minLength", 1), schema.get("maxLength", 1000)
        for seed in ("abcd", "ab", "a", "1234", "ABCDEFGHJKMNPQ"):
            text = (seed * low)[:max(len(seed), low)]
            if low <= len(text) <= high and re.search(schema.get("pattern", ""), text):
                return text
    raise AssertionError(f"no example for {schema}")


def test_each_shared_body_as_the_document_shows_it_is_loaded_by_its_service():
    """For every route body from services/common/contract/, the smallest body the document
    allows (its examples, the first of each enum, the least of each range) is loaded by the
    gateway's schema and by the class the service loads (the contract's, or the service's
    subclass of it): the document and the services cannot drift apart."""
    from gateway.http import ROUTES
    from gateway.openapi import openapi_path

    _service_schemas()  # imports every service module: their subclasses of the contract's
    document = openapi_document()
    components = document["components"]["schemas"]
    checked = set()
    for route in ROUTES:
        body = route.body
        if body is None or not body.__module__.startswith("services.common.contract."):
            continue
        operation = document["paths"][openapi_path(route.path)][route.method.lower()]
        example = _example(operation["requestBody"]["content"]["application/json"]["schema"],
                           components)
        body().load(example)  # the gateway's check
        loaders = [kind for kind in _subclasses(body)
                   if kind.__module__.split(".")[1] != "common"] or [body]
        for loader in loaders:
            loader().load({**example, **FROM_THE_PATH.get(_name(loader), {})})
            checked.add(_name(loader))
    assert len(checked) >= 24, checked


def _subclasses(kind: type) -> list[type]:
    return [sub for direct in kind.__subclasses__() for sub in [direct, *_subclasses(direct)]]

