"""The boundaries of ARCHITECTURE.md, checked on the source: a service imports only the kernel
and itself; the gateway imports only the kernel; the kernel imports no service."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def imported_modules(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def owner_and_allowed(path: pathlib.Path):
    parts = path.relative_to(ROOT).parts
    if parts[0] == "gateway":
        return "gateway", {"services.common"}
    if parts[0] == "services" and len(parts) > 2:
        own = f"services.{parts[1]}"
        return own, {"services.common", own}
    return None, None


def test_services_and_gateway_talk_only_through_rpc_and_events():
    leaks = []
    files = list(ROOT.glob("services/**/*.py")) + list(ROOT.glob("gateway/**/*.py"))
    assert len(files) > 20
    for path in files:
        owner, allowed = owner_and_allowed(path)
        if owner is None:
            continue
        for module in imported_modules(path):
            if module.startswith("services."):
                top = ".".join(module.split(".")[:2])
                if top not in allowed:
                    leaks.append(f"{path.relative_to(ROOT)} imports {module}")
    assert leaks == []


SERVICES = ("accounts", "billing", "catalog", "vouchers", "tickets", "notifier")


def test_each_service_class_is_its_table_of_contents():
    """A service module's docstring names every RPC it offers, and every `name(` its RPC list
    writes is one: a newcomer reads service.py's docstring and finds what exists."""
    import importlib
    import inspect
    import re

    from nameko.rpc import Rpc

    stale = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.service")
        doc = module.__doc__ or ""
        cls = next(c for c in vars(module).values()
                   if inspect.isclass(c) and getattr(c, "name", None) == service)
        rpcs = {name for name, member in vars(cls).items() if any(
            isinstance(e, Rpc) for e in getattr(member, "nameko_entrypoints", ()))}
        rpc_section = doc.split("\nTimer")[0].split("\nEvents")[0]
        written = set(re.findall(r"\b([a-z_][a-z0-9_]*)\(", rpc_section))
        words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", doc))
        stale += [f"{service}: the docstring names {n}(), which is no RPC"
                  for n in sorted(written - rpcs) if n not in NOT_RPC]
        stale += [f"{service}: RPC {n} is not in the docstring" for n in sorted(rpcs - words)]
    assert not stale, stale


# words written with "(" in the docstrings' RPC lists that are not calls (none today)
NOT_RPC: set[str] = set()
