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


SERVICES = ("accounts", "billing", "catalog", "vouchers", "tickets", "notifier", "insights")


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


def service_import_graph(service: str) -> dict[str, set[str]]:
    """Module → the modules of the same service it imports, imports inside functions included
    (an import moved into a function still makes a cycle; it only hides it)."""
    base = ROOT / "services" / service
    modules = {}
    for path in base.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [t if t in modules else node.module for t in targets]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_a_service():
    found = {service: cycles(service_import_graph(service)) for service in SERVICES}
    assert {s: c for s, c in found.items() if c} == {}


# billing's sub-packages, and what each may import of billing (besides itself and the shared
# modules models, events, exceptions); service.py, the entrypoints, may import all of them
BILLING_LAYERS = {"money": set(), "subscriptions": {"money"}, "invoicing": {"money",
                                                                          "subscriptions"},
                  "insights": {"money", "subscriptions", "invoicing"}}
BILLING_SHARED = {"services.billing", "services.billing.models", "services.billing.events",
                  "services.billing.exceptions"}


def test_billing_sub_packages_depend_in_one_direction():
    wrong = []
    graph = service_import_graph("billing")
    assert {m.split(".")[2] for m in graph if m.count(".") >= 3} == set(BILLING_LAYERS)
    for module, imports in graph.items():
        layer = module.split(".")[2] if module.count(".") >= 2 else None
        if module in BILLING_SHARED:
            allowed = BILLING_SHARED
        elif layer in BILLING_LAYERS:
            allowed = BILLING_SHARED | {f"services.billing.{p}" for p in
                                        BILLING_LAYERS[layer] | {layer}}
        else:
            continue  # service.py
        for target in imports:
            if not any(target == a or target.startswith(a + ".") for a in allowed
                       if a != "services.billing") and target != "services.billing":
                wrong.append(f"{module} imports {target}")
    assert wrong == []


# where a unit of work may end: the entrypoints (service.py), billing's transaction helpers and
# multi-transaction flows (transactions.py), and a card payment's two transactions around the
# provider's answer (money/payments.py), like the kernel's idempotency records
TRANSACTION_OWNERS = {"service.py", "transactions.py"}
TRANSACTION_MACHINERY = {"services/billing/money/payments.py"}


def test_only_entrypoints_commit():
    """Modules flush; whether a change is one transaction or several is decided where the
    entrypoint is, not deep inside a helper."""
    found = []
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if path.name in TRANSACTION_OWNERS or rel in TRANSACTION_MACHINERY:
                continue
            tree = ast.parse(path.read_text(), filename=rel)
            found += [f"{rel}:{node.lineno} {node.func.attr}()" for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in ("commit", "rollback")]
    assert found == []


def test_every_event_is_emitted_by_its_name_in_events_py():
    """`outbox.emit(session, events.X, …)`: the names a service emits are all in its events.py
    (a variable passed down from a caller that named it there is fine; a literal is not)."""
    import importlib

    wrong = []
    for service in SERVICES:
        names = vars(importlib.import_module(f"services.{service}.events"))
        for path in (ROOT / "services" / service).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("emit", "emit_many")
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "outbox" and len(node.args) > 1):
                    continue
                arg = node.args[1]
                named = (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                         and arg.value.id == "events" and arg.attr in names)
                passed = isinstance(arg, ast.Name) and arg.id.islower()
                if not (named or passed):
                    wrong.append(f"{rel}:{node.lineno} emits {ast.unparse(arg)}")
    assert wrong == []


def test_each_service_docstring_names_every_event_it_emits():
    """Like its RPCs, a service's events are all in service.py's docstring (`a_b/c` names both
    a_b and a_c), so a newcomer finds there what a service may announce."""
    import importlib
    import re

    missing = []
    for service in SERVICES:
        doc = importlib.import_module(f"services.{service}.service").__doc__ or ""
        named = set(re.findall(r"\b[a-z][a-z0-9_]*\b", doc))
        for prefix, rest in re.findall(r"\b([a-z]+)_([a-z_]+(?:/[a-z_]+)+)", doc):
            named |= {f"{prefix}_{part}" for part in rest.split("/")}
        emitted = {value for name, value in vars(importlib.import_module(
            f"services.{service}.events")).items() if name.isupper() and isinstance(value, str)}
        missing += [f"{service}: {event}" for event in sorted(emitted - named)]
    assert missing == []
