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
