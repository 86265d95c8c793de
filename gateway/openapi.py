"""The OpenAPI 3 document, generated from the `@api` declarations and their schemas."""

from __future__ import annotations

import importlib
import pkgutil
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

import gateway.schemas
import services.common.contract
from gateway.http import ROUTES
from gateway.schemas.common import ErrorBody

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_]+)>")
ERROR_STATUSES = {
    "400": "Malformed or invalid input (`fields` says which)",
    "401": "Not logged in",
    "403": "Logged in but not allowed",
    "404": "Not found, or not yours",
    "409": "Conflicts with the current state",
    "429": "Rate limited (see Retry-After)",
    "503": "A backing service did not answer in time",
}
# every module of gateway/schemas/ and services/common/contract/: their schemas' `OPENAPI`
# rules are merged into the components
SCHEMA_MODULES = tuple(
    importlib.import_module(f"{package.__name__}.{module.name}")
    for package in (gateway.schemas, services.common.contract)
    for module in pkgutil.iter_modules(package.__path__))


def idempotency_header(required: bool) -> dict:
    what = ("Required: this request moves money. " if required else "Optional. ") + (
        "The first answer is stored and replayed for a repeat with the same key and body; the "
        "same key with another body is 409 IDEMPOTENCY_KEY_REUSED.")
    return {"name": "Idempotency-Key", "in": "header", "required": required,
            "description": what,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": r"^[\x20-\x7e]+$"}}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def build_spec() -> dict:
    spec = APISpec(
        title="Subscriber portal API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "The portal's public HTTP API (see API.md). Money is integer "
                             "minor units plus an ISO 4217 currency."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("cookie", {"type": "apiKey", "in": "cookie",
                                               "name": "portal_session"})
    spec.components.schema("Error", schema=ErrorBody)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        if not route.in_schema:
            continue
        path = openapi_path(route.path)
        op: dict = {"operationId": route.name, "summary": route.summary,
                    "tags": [route.tag] if route.tag else []}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _CONVERTER.findall(route.path)]
        if route.query is not None:
            params.append({"in": "query", "schema": route.query})
        if route.idempotency is not None:
            params.append(idempotency_header(route.idempotency == "required"))
        if params:
            op["parameters"] = params
        if route.body is not None:
            # an empty body is read as {}: the body is required only if {} is refused
            op["requestBody"] = {"required": _refuses_empty(route.body),
                                 "content": {"application/json": {"schema": route.body}}}
        ok: dict = {"description": "Success"}
        if route.response is not None:
            ok["content"] = {"application/json": {"schema": route.response}}
        op["responses"] = {str(route.status): ok}
        for code, schema in route.also.items():
            op["responses"][str(code)] = {"description": schema.__doc__ or "Success",
                                          "content": {"application/json": {"schema": schema}}}
        for code, text in ERROR_STATUSES.items():
            op["responses"][code] = {"description": text, "content": {
                "application/json": {"schema": "Error"}}}
        if route.access == "visitor":  # {}: anyone; a session, when sent, is used
            op["security"] = [{}, {"bearer": []}, {"cookie": []}]
        elif route.access != "public":
            op["security"] = [{"bearer": []}, {"cookie": []}]
        paths.setdefault(path, {})[route.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    _add_cross_field_rules(document)
    _tighten_nullable_refs(document)
    return document


def _tighten_nullable_refs(node) -> None:
    """apispec writes a nullable nested schema as `anyOf: [{type: object, nullable: true},
    {$ref}]` (either order), whose object branch takes any object (`{}` passes where the code
    wants the referenced fields): make it `{allOf: [{$ref}], nullable: true}`, null or exactly
    that."""
    loose = {"type": "object", "nullable": True}
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and loose in branches:
            ref = branches[1 - branches.index(loose)]
            if set(ref) == {"$ref"}:
                del node["anyOf"]
                node.update({"allOf": [ref], "nullable": True})
        for value in node.values():
            _tighten_nullable_refs(value)
    elif isinstance(node, list):
        for value in node:
            _tighten_nullable_refs(value)


def _refuses_empty(schema: type[Schema]) -> bool:
    """{} is refused: a field is required, or the schema's cross-field rules (`OPENAPI`: one
    of several fields, at least one property) ask for something."""
    extra = getattr(schema, "OPENAPI", None) or {}
    return (any(f.required for f in schema._declared_fields.values())
            or bool({"oneOf", "anyOf"} & set(extra)) or extra.get("minProperties", 0) > 0)


def _add_cross_field_rules(document: dict) -> None:
    """A schema's `OPENAPI` (what its `validates_schema` checks, as JSON Schema: oneOf,
    minProperties) is merged into its component, so the document is as strict as the code."""
    components = document["components"]["schemas"]
    for module in SCHEMA_MODULES:
        for name, kind in vars(module).items():
            extra = getattr(kind, "OPENAPI", None) if isinstance(kind, type) else None
            if extra and issubclass(kind, Schema):
                component = components.get(name[:-6] if name.endswith("Schema") else name)
                if component is not None:
                    component.update(extra)
